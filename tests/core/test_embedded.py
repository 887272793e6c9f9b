"""`make run` / `make test` on a fresh machine: tidegrid/embedded.py starts its own PostgreSQL and Redis even as
root on a machine where PostgreSQL's OS user does not exist yet and PATH lacks the sbin folders."""

import os
import pwd
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import os, pwd, psycopg, redis
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    print("postgres", conn.execute("SELECT 1").fetchone()[0])
print("redis", redis.Redis.from_url(os.environ["REDIS_URL"]).ping())
print("runs as", os.environ["TIDEGRID_PG_SYSTEM_USER"], pwd.getpwnam(os.environ["TIDEGRID_PG_SYSTEM_USER"]).pw_uid
      if os.geteuid() == 0 else "-")
"""


@pytest.fixture
def new_os_user():
    """A user name no account has yet; as root the run creates it, and it is removed again after."""
    name = f"tg_fresh_{secrets.token_hex(3)}"
    with pytest.raises(KeyError):
        pwd.getpwnam(name)
    yield name
    if os.geteuid() == 0:
        userdel = shutil.which("userdel", path="/usr/sbin:/sbin:/usr/bin:/bin")
        if userdel:
            subprocess.run([userdel, name], check=False, capture_output=True)


def test_a_fresh_root_machine_with_a_minimal_path_starts_both_servers(new_os_user, tmp_path):
    # Only the PATH a cron job or a bare container gives root: no /usr/sbin, so `useradd` is not on it.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TIDEGRID_PG_SYSTEM_USER": new_os_user}
    result = subprocess.run(
        [sys.executable, "tidegrid/embedded.py", "--data", str(tmp_path / "data"), "--",
         sys.executable, "-c", CHECK],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "postgres 1" in result.stdout and "redis True" in result.stdout
    if os.geteuid() == 0:  # this machine runs the suite as root: the user was really created
        assert pwd.getpwnam(new_os_user).pw_uid != 0
        assert (tmp_path / "data" / "postgres").stat().st_uid == pwd.getpwnam(new_os_user).pw_uid
