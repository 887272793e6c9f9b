"""The local Stripe stand-in (localstripe) that `make run` starts when no Stripe keys are set, and the
environment that points the platform at it. The browser test of a test-mode top-up uses the same code.

localstripe keeps everything in memory and answers any key; its webhooks are configured through its
``/_config/webhooks/<id>`` endpoint and signed like Stripe's. Imports nothing from Django.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

SECRET_KEY = "sk_test_localstripe"  # noqa: S105 — localstripe accepts any key; not a secret
PUBLISHABLE_KEY = "pk_test_localstripe"
WEBHOOK_SECRET = "whsec_localstripe_make_run"  # noqa: S105 — signs loopback events only


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=1).read()  # noqa: S310 — loopback only
        return True
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def start(port: int | None = None, timeout: float = 30) -> tuple[subprocess.Popen, str]:
    """Start localstripe on a free loopback port; (the process, its URL) once it answers."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not _answers(url):
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited with {process.returncode} before answering")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"localstripe did not answer within {timeout:.0f} s")
        time.sleep(0.05)
    return process, url


def webhook_register(stand_in_url: str, site_url: str, webhook_id: str = "tidegrid") -> None:
    """localstripe signs and POSTs every event to the platform's /stripe/webhook."""
    webhook_point(stand_in_url, webhook_id, f"{site_url.rstrip('/')}/stripe/webhook")


def webhook_point(stand_in_url: str, webhook_id: str, url: str, secret: str = WEBHOOK_SECRET) -> None:
    """Register (or re-point) localstripe's webhook ``webhook_id``: it then POSTs every event, signed with
    ``secret``, to ``url``."""
    body = urllib.parse.urlencode({"url": url, "secret": secret})
    request = urllib.request.Request(f"{stand_in_url}/_config/webhooks/{webhook_id}",  # noqa: S310 — loopback
                                     data=body.encode(), method="POST")
    urllib.request.urlopen(request, timeout=5).read()  # noqa: S310 — loopback only


def environment(stand_in_url: str) -> dict[str, str]:
    """The settings (as environment variables) that point the platform at the stand-in, in test mode."""
    return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": stand_in_url,
            "STRIPE_JS_URL": f"{stand_in_url}/js.stripe.com/v3/", "TIDEGRID_STRIPE_STAND_IN": "true"}
