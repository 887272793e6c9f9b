"""Loading for the deployment checks: YAML files, a small kustomize renderer, compose, Dockerfile.

Neither a Docker engine nor a Kubernetes API server is available where the tests run, so the
deployment descriptors are checked structurally. The renderer below implements exactly the kustomize
features the overlays use and refuses anything else, so a new feature fails loudly here instead of
being silently ignored. (It was checked against `kubectl kustomize` output when written.)

No Django imports: these tests run with `-p no:django` and without a database.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PLATFORM_DIR = REPO_ROOT / "platform"
KUBERNETES_DIR = PLATFORM_DIR / "kubernetes"
BASE_DIR = KUBERNETES_DIR / "base"
OVERLAYS_DIR = KUBERNETES_DIR / "overlays"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"

# The variables production settings cannot start without (tidegrid/settings/{base,production}.py).
REQUIRED_ENV = ("DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")
PRODUCTION_SETTINGS = "tidegrid.settings.production"
CELERY_QUEUES = {"placement", "telemetry", "billing", "default"}

CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass"}
SUPPORTED_KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
# Strategic merge patches merge these lists by key; the renderer only replaces lists, so it refuses them.
MERGE_KEYED_LISTS = {"containers", "initContainers", "volumes", "volumeMounts", "env", "envFrom", "ports"}


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def load_kustomization(directory: Path) -> dict[str, Any]:
    (kustomization,) = load_yaml_documents(directory / "kustomization.yaml")
    return kustomization


def kustomization_dirs() -> list[Path]:
    return sorted(path.parent for path in KUBERNETES_DIR.rglob("kustomization.yaml"))


def _strategic_merge(target: dict[str, Any], patch: dict[str, Any], where: str) -> None:
    for key, value in patch.items():
        if key in MERGE_KEYED_LISTS:
            raise NotImplementedError(f"{where}: patching list {key!r} needs kustomize's merge keys; "
                                      "extend tests/deploy/conftest.py before using it")
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _strategic_merge(target[key], value, f"{where}.{key}")
        else:
            target[key] = copy.deepcopy(value)


def _image_name(image: str) -> str:
    """`registry/x/tidegrid:1.0@sha256:..` -> `registry/x/tidegrid` (a registry port stays)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def _image_tag(image: str) -> str:
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}:
        return doc["spec"]["template"]["spec"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if doc["kind"] == "Pod":
        return doc["spec"]
    return None


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def render_kustomization(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize DIRECTORY` for the subset of features TideGrid's kustomizations use."""
    kustomization = load_kustomization(directory)
    unsupported = set(kustomization) - SUPPORTED_KUSTOMIZATION_KEYS
    assert not unsupported, f"{directory}: kustomization keys {unsupported} are not understood by the test renderer"

    docs: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        docs.extend(render_kustomization(path) if path.is_dir() else load_yaml_documents(path))

    for entry in kustomization.get("patches", []):
        assert set(entry) == {"path"}, f"{directory}: only strategic-merge patch files are supported, got {entry}"
        for patch in load_yaml_documents(directory / entry["path"]):
            matches = [doc for doc in docs if doc["kind"] == patch["kind"]
                       and doc["metadata"]["name"] == patch["metadata"]["name"]]
            assert len(matches) == 1, f"{entry['path']}: patch target {patch['kind']}/{patch['metadata']['name']} " \
                                      f"matches {len(matches)} resources"
            _strategic_merge(matches[0], patch, f"{entry['path']}:{patch['kind']}")

    namespace = kustomization.get("namespace")
    if namespace:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED_KINDS:
                doc["metadata"]["namespace"] = namespace

    for entry in kustomization.get("labels", []):
        assert not entry.get("includeSelectors") and not entry.get("includeTemplates"), \
            "labels with includeSelectors/includeTemplates are not supported by the test renderer"
        for doc in docs:
            doc["metadata"].setdefault("labels", {}).update(entry["pairs"])

    for entry in kustomization.get("images", []):
        for doc in docs:
            spec = pod_spec(doc)
            for container in all_containers(spec) if spec else []:
                if _image_name(container["image"]) == entry["name"]:
                    name = entry.get("newName", entry["name"])
                    tag = entry.get("newTag", _image_tag(container["image"]))
                    container["image"] = f"{name}@{entry['digest']}" if "digest" in entry else f"{name}:{tag}"
    return docs


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected exactly one {kind}/{name}, found {len(matches)}"
    return matches[0]


def container(doc: dict[str, Any], name: str) -> dict[str, Any]:
    spec = pod_spec(doc)
    assert spec is not None, f"{doc['kind']} has no pod template"
    matches = [c for c in spec["containers"] if c["name"] == name]
    assert len(matches) == 1, f"{doc['kind']}/{doc['metadata']['name']} has no container {name!r}"
    return matches[0]


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) pair in a YAML tree."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def parse_dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def split_command(value: str | list[str]) -> list[str]:
    return list(value) if isinstance(value, list) else shlex.split(value)
