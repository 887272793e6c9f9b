"""Content-Security-Policy in production (issue 10): the production settings send it on real responses, and
the portal's templates stay within it (no inline scripts, handlers or styles; no third-party assets but
Stripe's)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

# Runs under tidegrid.settings.production in a fresh interpreter. Only the static files storage is swapped:
# production's manifest storage needs `collectstatic`, which is a deployment step, not part of this check.
_PROBE = """
import json, django
from django.test import Client, override_settings
django.setup()
from django.conf import settings
answers = {}
with override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}):
    for path in ("/accounts/login/", "/healthz", "/api/v1/schema/", "/api/v1/docs/"):
        response = Client().get(path, secure=True)
        answers[path] = {"status": response.status_code, "csp": response.get("Content-Security-Policy"),
                         "body": response.content.decode(errors="replace")[:20000]}
print(json.dumps(answers))
"""


def production_responses() -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tidegrid.settings.production",
           "DJANGO_SECRET_KEY": "production-probe-" + "x" * 40, "DJANGO_ALLOWED_HOSTS": "testserver",
           "STRIPE_JS_URL": "https://js.stripe.com/v3/", "STRIPE_API_BASE": "https://api.stripe.com"}
    result = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _directives(header: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def test_production_sends_a_content_security_policy_the_portal_satisfies():
    answers = production_responses()
    login = answers["/accounts/login/"]
    assert login["status"] == 200
    policy = _directives(login["csp"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", "https://js.stripe.com"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in login["csp"] and "'unsafe-eval'" not in login["csp"]
    # Every response carries it, API and health checks included.
    assert answers["/healthz"]["csp"] == login["csp"] and answers["/api/v1/schema/"]["csp"] == login["csp"]
    # The API docs pages allow inline styles (Swagger UI's own), and nothing else more.
    docs = _directives(answers["/api/v1/docs/"]["csp"])
    assert answers["/api/v1/docs/"]["status"] == 200
    assert docs["style-src"] == ["'self'", "'unsafe-inline'"] and docs["script-src"] == policy["script-src"]
    assert "<script>" not in answers["/api/v1/docs/"]["body"]
    # The page itself loads scripts and styles only from this site.
    for tag in re.findall(r"<(?:script|link)\b[^>]*>", login["body"]):
        source = re.search(r'(?:src|href)="([^"]+)"', tag)
        assert source and source.group(1).startswith("/"), tag
    # The 500 page's one inline style is allowed by its hash.
    style = re.search(r"<style>(.*?)</style>", (TEMPLATES / "500.html").read_text(), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy["style-src"]


def test_portal_templates_have_no_inline_scripts_handlers_or_styles():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        name = str(path.relative_to(TEMPLATES))
        if name in ("500.html", "billing/invoice_pdf.html", "oversight/report_pdf.html"):  # hashed / PDF only
            continue
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"<style\b",
                        r"javascript:", r'(?:src|href)="(?:https?:)?//'):
            offenders += [f"{name}: {match}" for match in re.findall(pattern, text)]
    assert offenders == []
