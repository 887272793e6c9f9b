"""Repository-wide guarantees: lint, migrations, deploy checks, no stdlib shadowing, no CDN."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_production_settings_pass_check_deploy():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tidegrid.settings.production",
        "DJANGO_SECRET_KEY": "k7$Vq!2wz" * 8,
        "DJANGO_ALLOWED_HOSTS": "tidegrid.example.cn",
    }
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SECRET_KEY"}
    env.update(DJANGO_SETTINGS_MODULE="tidegrid.settings.production", DJANGO_ALLOWED_HOSTS="x.cn")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_the_standard_library_platform_module_is_not_shadowed():
    result = subprocess.run([sys.executable, "-c", "import platform; print(platform.system())"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Linux"


def test_no_python_in_platform_folder():
    assert not list((ROOT / "platform").rglob("*.py"))


def test_engine_and_agent_do_not_import_django():
    pattern = re.compile(r"^\s*(from|import)\s+(django|apps|tidegrid)\b", re.MULTILINE)
    offenders = [str(path) for folder in ("workers", "agents") if (ROOT / folder).exists()
                 for path in (ROOT / folder).rglob("*.py") if pattern.search(path.read_text())]
    assert offenders == []


def test_templates_load_nothing_from_a_cdn():
    external = re.compile(r"""(src|href)=["']https?://""")
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "templates").rglob("*.html")
                 if external.search(path.read_text())]
    assert offenders == []
