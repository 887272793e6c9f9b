"""`make run`: migrate, load the demo world, then run web + Celery worker + Celery beat until Ctrl-C.

Runs inside ``tidegrid/embedded.py``, which provides DATABASE_URL/REDIS_URL (its own servers
unless the variables were already set) and stops those servers after this process exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tidegrid import stripe_standin
from tidegrid.demofleet import start_fleet

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def _manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


def _wait_for_web(host: str, port: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the web server did not come up")


def main() -> int:
    host = os.environ.get("TIDEGRID_HOST", "127.0.0.1")
    port = os.environ.get("TIDEGRID_PORT", "8000")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tidegrid.settings.dev")
    os.environ.setdefault("TIDEGRID_SITE_URL", f"http://{host}:{port}")
    (ROOT / ".data").mkdir(exist_ok=True)

    # No Stripe keys: payments run against the local stand-in (localstripe), in test mode.
    stand_in = None
    if not os.environ.get("STRIPE_SECRET_KEY"):
        stand_in, stand_in_url = stripe_standin.start()
        os.environ.update(stripe_standin.environment(stand_in_url))

    _manage("migrate", "--noinput")
    seed = subprocess.run([PYTHON, "manage.py", "seed_demo"], cwd=ROOT, check=True, capture_output=True, text=True)
    _manage("demo_oversight")  # a month of history for the government dashboard (first run only)

    processes = {
        "web": [str(BIN / "gunicorn"), "tidegrid.wsgi:application", "--bind", f"{host}:{port}",
                "--workers", "2", "--threads", "4", "--access-logfile", "-", "--graceful-timeout", "5"],
        "worker": [str(BIN / "celery"), "-A", "tidegrid", "worker", "-Q", "placement,telemetry,billing,default",
                   "--concurrency", "2", "--loglevel", "INFO", "-n", "tidegrid@%h"],
        "beat": [str(BIN / "celery"), "-A", "tidegrid", "beat", "--loglevel", "INFO",
                 "--schedule", str(ROOT / ".data" / "celerybeat-schedule")],
    }
    running = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in processes.items()}
    if stand_in is not None:
        running["stripe"] = stand_in
    _wait_for_web(host, port)
    if stand_in is not None:
        stripe_standin.webhook_register(os.environ["STRIPE_API_BASE"], f"http://{host}:{port}")
    running.update(start_fleet(f"http://{host}:{port}", ROOT / ".data" / "agents"))

    print("\n" + "=" * 72, flush=True)
    print(f"  TideGrid is running:  http://{host}:{port}/", flush=True)
    print(f"  API docs:             http://{host}:{port}/api/v1/docs/", flush=True)
    print("  Demo logins (e-mail / password):", flush=True)
    for line in seed.stdout.rstrip().splitlines():
        print("   " + line, flush=True)
    print("  Simulated fleet: the demo provider's GPU nodes (A100, Ascend 910B, H20, T4; see Clusters in the provider"
          " login). Customers find them in the Market.", flush=True)
    if stand_in is not None:
        print(f"  Payments: TEST MODE against the local Stripe stand-in (localstripe, {os.environ['STRIPE_API_BASE']});"
              " pay with the test card 4242 4242 4242 4242. Set STRIPE_SECRET_KEY etc. for real Stripe.", flush=True)
    print("  Press Ctrl-C to stop everything (web, worker, beat, agents, databases).", flush=True)
    print("=" * 72 + "\n", flush=True)

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, process in running.items():
            if process.poll() is not None:
                print(f"[devstack] {name} exited with {process.returncode}; stopping the rest", flush=True)
                exit_code = process.returncode or 1
                stopping = True
        time.sleep(0.5)

    # Agents first (their last report still reaches the web server), then web, worker and beat.
    agents = [p for name, p in running.items() if name.startswith("fleet")]
    others = [p for name, p in running.items() if not name.startswith("fleet")]
    for group in (agents, others):
        for process in group:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in group:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
    print("[devstack] stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
