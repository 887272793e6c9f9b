"""The demo provider's simulated fleet: real agent processes (`python -m agents simulate`) that enroll
with the demo's enrollment tokens (kept in files, reused while valid) and then talk to the server over HTTP only.

    python -m tidegrid.demofleet --server http://web:8000 [--state-dir DIR]

Used by `make run` (through devstack) and by the `simulated-agents` service of docker-compose. Creating
the tokens needs the database (it runs `manage.py demo_fleet`); the agents themselves never touch it.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_fleet(server: str, state_dir: Path, *, log_level: str = "WARNING") -> dict[str, subprocess.Popen]:
    """Issue (or reuse) the demo enrollment tokens and start one `agents simulate` process per node group.

    The tokens travel in files under ``state_dir`` (mode 0600): no token or credential is ever on an agent's
    command line, which every local user can read in `ps`.
    """
    groups = json.loads(subprocess.run(
        [sys.executable, "manage.py", "demo_fleet", "--token-dir", str(state_dir / "tokens")],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    fleet = {}
    for group in groups:
        prefix = group["hostname_prefix"]
        fleet[f"fleet {prefix}"] = subprocess.Popen(
            [sys.executable, "-m", "agents", "simulate", "--server", server, "--tokens-file", group["token_file"],
             "--nodes", str(group["nodes"]), "--devices", *group["devices"], "--hostname-prefix", prefix,
             "--state-dir", str(state_dir / prefix.rstrip("-")), "--runtime", "process", "--log-level", log_level],
            cwd=ROOT,
        )
    return fleet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True)
    parser.add_argument("--state-dir", default=str(ROOT / ".data" / "agents"))
    args = parser.parse_args()
    fleet = start_fleet(args.server, Path(args.state_dir), log_level="INFO")

    def stop(*_args) -> None:
        for process in fleet.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return max((process.wait() for process in fleet.values()), default=0)


if __name__ == "__main__":
    sys.exit(main())
