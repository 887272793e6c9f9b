"""Browser tests: Playwright for Python driving Debian's Chromium against Django's live server.

Chromium comes from the `chromium` Debian package (`scripts/ensure-chromium.sh` installs it; `.ci/run`
and `make test` call that script). Playwright's own browser download is not used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("TIDEGRID_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@contextlib.contextmanager
def chromium_session() -> Iterator[Browser]:
    """Debian's Chromium through Playwright's sync API, for as long as the block runs.

    Playwright keeps an event loop running in this thread, and Django refuses ORM calls from a thread with
    a running loop unless DJANGO_ALLOW_ASYNC_UNSAFE is set: the switch is on only inside the block. The ORM
    calls made inside run in Playwright's context, whose database connection is not the one pytest-django
    closes; it is closed here before the block ends (left open, it kept the test database from being dropped:
    "database is being accessed by other users").
    """
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `sudo bash scripts/ensure-chromium.sh` "
                    "(installs Debian's chromium and fonts-noto-cjk) or set TIDEGRID_CHROMIUM.")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
                connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# Per module, not per session: keeping the browser (and DJANGO_ALLOW_ASYNC_UNSAFE) to the browser test
# modules leaves every other test as strict as in production.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium_session() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    """A fresh browser profile (no cookies) pointed at the live server, in English."""
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1360, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()
