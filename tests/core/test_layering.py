"""The layering contracts (pyproject.toml, [tool.importlinter]; docs/architecture.md explains them) hold
on the project as it is, and a forbidden import breaks `make lint` — shown on a copy of the code."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(root)})


def test_the_project_keeps_its_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "source", "contract"), [
    ("apps/catalog/_new_feature.py", "from apps.billing import models\n", "Apps are layered"),
    ("apps/core/_new_feature.py", "from apps.portal import views\n", "Apps are layered"),
    ("apps/ledger/_new_feature.py", "def later():\n    from apps.portal import demo\n", "Apps are layered"),
    ("workers/placement/_new_feature.py", "import django.db\n", "import no Django"),
    ("agents/_new_feature.py", "from apps.telemetry import models\n", "import no Django"),
    ("oversight_verify/_new_feature.py", "from apps.oversight import models\n", "import no Django"),
])
def test_a_forbidden_import_breaks_the_lint(tmp_path, module, source, contract):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in ("apps", "workers", "agents", "oversight_verify"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    assert lint_imports(tmp_path).returncode == 0  # the copy is as clean as the project

    (tmp_path / module).write_text(source)
    result = lint_imports(tmp_path)

    assert result.returncode == 1
    assert "BROKEN" in result.stdout and contract in result.stdout
    assert "_new_feature" in result.stdout  # and it names the offending module
