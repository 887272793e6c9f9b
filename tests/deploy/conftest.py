"""Fixtures for the deployment checks; the loading itself lives in descriptors.py."""

from __future__ import annotations

from typing import Any

import pytest

from .descriptors import (
    BASE_DIR,
    COMPOSE_FILE,
    DOCKERFILE,
    KUBERNETES_DIR,
    kustomization_dirs,
    load_yaml_documents,
    parse_dockerfile,
    render_kustomization,
)


@pytest.fixture(scope="session")
def base_docs() -> list[dict[str, Any]]:
    return render_kustomization(BASE_DIR)


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Every kustomization that is meant to be applied, rendered: the base and each overlay."""
    return {str(directory.relative_to(KUBERNETES_DIR)): render_kustomization(directory)
            for directory in kustomization_dirs()}


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    (document,) = load_yaml_documents(COMPOSE_FILE)
    return document


@pytest.fixture(scope="session")
def dockerfile() -> list[tuple[str, str]]:
    return parse_dockerfile(DOCKERFILE)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Overrides the suite-wide autouse fixture of this name in tests/conftest.py, which empties the
    Redis cache: these checks read files only and must pass without Redis or a database."""
    yield
