"""docker-compose.yml and the Dockerfile: the services exist, start in order, and run the same
commands and configuration as the Kubernetes manifests."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from .descriptors import (
    CELERY_QUEUES,
    PRODUCTION_SETTINGS,
    REPO_ROOT,
    REQUIRED_ENV,
    container,
    find,
    split_command,
)

APP_SERVICES = ("migrate", "web", "worker", "beat")
# compose service -> (Kubernetes kind, resource name, container name) running the same process.
KUBERNETES_TWINS = {
    "migrate": ("Job", "tidegrid-migrate", "migrate"),
    "web": ("Deployment", "tidegrid-web", "web"),
    "worker": ("Deployment", "tidegrid-worker", "worker"),
    "beat": ("Deployment", "tidegrid-beat", "beat"),
}


def _environment(service: dict) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def _resolve_default(value: str) -> str:
    """`${VAR:-default}` -> `default`: what compose uses when the shell does not set VAR."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


def _image_name(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return image[: len(image) - len(last)] + last.split(":", 1)[0]


def _healthcheck_command(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test[1:]) if isinstance(test, list) else test


# --- compose ----------------------------------------------------------------------------------------

def test_compose_defines_the_services(compose):
    assert set(compose["services"]) >= {"postgres", "redis", *APP_SERVICES}
    assert compose["services"]["postgres"]["image"].split(":")[1].startswith("16")
    assert compose["services"]["redis"]["image"].split(":")[1].startswith("7")


def test_app_services_are_built_from_the_dockerfile(compose, base_docs):
    images = set()
    for name in APP_SERVICES:
        service = compose["services"][name]
        build = service["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        assert (REPO_ROOT / context / dockerfile).is_file(), name
        images.add(service["image"])
    assert len(images) == 1, f"one image for every process: {images}"
    # The Kubernetes base refers to the same image name (overlays retag it for a registry).
    web = container(find(base_docs, "Deployment", "tidegrid-web"), "web")
    assert _image_name(web["image"]) == _image_name(images.pop())


@pytest.mark.parametrize("service_name", APP_SERVICES)
def test_compose_commands_match_kubernetes(service_name, compose, base_docs):
    kind, name, container_name = KUBERNETES_TWINS[service_name]
    kubernetes_command = container(find(base_docs, kind, name), container_name)["command"]
    assert split_command(compose["services"][service_name]["command"]) == kubernetes_command


def test_worker_consumes_every_queue(compose):
    command = split_command(compose["services"]["worker"]["command"])
    assert command[:4] == ["celery", "-A", "tidegrid", "worker"]
    assert set(command[command.index("-Q") + 1].split(",")) == CELERY_QUEUES


def test_beat_is_never_scaled(compose):
    beat = compose["services"]["beat"]
    assert beat.get("deploy", {}).get("replicas", 1) == 1
    assert beat.get("scale", 1) == 1


@pytest.mark.parametrize("service_name", APP_SERVICES)
def test_app_services_get_the_required_environment(service_name, compose):
    environment = _environment(compose["services"][service_name])
    missing = [name for name in REQUIRED_ENV if not environment.get(name)]
    assert missing == []
    assert environment["DJANGO_SETTINGS_MODULE"] == PRODUCTION_SETTINGS
    # Compose serves plain http on localhost: an https redirect would make the site unreachable.
    assert environment["DJANGO_SECURE_SSL_REDIRECT"].lower() == "false"


def test_app_services_reach_the_compose_backing_services(compose):
    postgres = _environment(compose["services"]["postgres"])
    for name in APP_SERVICES:
        environment = _environment(compose["services"][name])
        database = urlsplit(_resolve_default(environment["DATABASE_URL"]))
        assert database.scheme in {"postgres", "postgresql"}
        assert (database.hostname, database.port) == ("postgres", 5432)
        assert database.username == postgres["POSTGRES_USER"]
        assert database.password == _resolve_default(postgres["POSTGRES_PASSWORD"])
        assert database.path.lstrip("/") == postgres["POSTGRES_DB"]
        redis = urlsplit(environment["REDIS_URL"])
        assert (redis.scheme, redis.hostname, redis.port or 6379) == ("redis", "redis", 6379)


def test_services_start_in_order(compose):
    services = compose["services"]
    for backing in ("postgres", "redis"):
        assert services[backing]["healthcheck"]["test"], f"{backing} needs a health check for depends_on"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"].get("restart", "no") == "no", "the migrate one-shot must not be restarted"
    for name in ("web", "worker", "beat"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["postgres"]["condition"] == "service_healthy", name
        assert depends_on["redis"]["condition"] == "service_healthy", name


def test_web_is_published_and_checks_readiness(compose):
    web = compose["services"]["web"]
    published = [str(port) for port in web["ports"]]
    assert any(port.endswith("8000:8000") for port in published)
    check = _healthcheck_command(web)
    assert "/readyz" in check and ":8000" in check
    host = urlsplit(re.search(r"https?://[^'\" ]+", check).group(0)).hostname
    assert host in _environment(web)["DJANGO_ALLOWED_HOSTS"].split(",")


def test_worker_health_check_pings_its_own_node(compose):
    worker = compose["services"]["worker"]
    test = worker["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL", "the node name needs the shell to expand $HOSTNAME"
    # `$$` is compose's escape for a literal `$`; a single `$HOSTNAME` would be interpolated from the host.
    assert "celery -A tidegrid inspect ping" in test[1] and "-d celery@$$HOSTNAME" in test[1]


def test_compose_and_kubernetes_agree_on_the_beat_schedule_path(compose):
    command = split_command(compose["services"]["beat"]["command"])
    schedule = command[command.index("--schedule") + 1]
    assert schedule.startswith("/tmp/")
    assert "/tmp" in compose["services"]["beat"].get("tmpfs", [])


# --- Dockerfile -------------------------------------------------------------------------------------

def _final_stage(dockerfile):
    starts = [index for index, (keyword, _) in enumerate(dockerfile) if keyword == "FROM"]
    return dockerfile[starts[-1]:]


def _args(dockerfile) -> dict[str, str]:
    return dict(arguments.split("=", 1) for keyword, arguments in dockerfile if keyword == "ARG" and "=" in arguments)


def test_image_is_python_311(dockerfile):
    base = _final_stage(dockerfile)[0][1].split()[0]
    base = re.sub(r"\$\{(\w+)\}", lambda match: _args(dockerfile)[match.group(1)], base)
    assert base.startswith("python:3.11")


def test_image_installs_requirements_and_collects_static(dockerfile):
    runs = " ".join(arguments for keyword, arguments in dockerfile if keyword == "RUN")
    assert re.search(r"pip install -r \S*requirements\.txt", runs)
    assert "manage.py collectstatic --noinput" in " ".join(a for k, a in _final_stage(dockerfile) if k == "RUN")


def test_image_runs_as_an_unprivileged_user(dockerfile):
    users = [arguments for keyword, arguments in _final_stage(dockerfile) if keyword == "USER"]
    assert users, "the final stage must switch away from root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    # runAsNonRoot in Kubernetes can only verify a numeric user.
    assert user.isdigit()


def test_image_defaults_to_production_settings_and_the_web_command(dockerfile, compose):
    final = _final_stage(dockerfile)
    env = " ".join(arguments for keyword, arguments in final if keyword == "ENV")
    assert f"DJANGO_SETTINGS_MODULE={PRODUCTION_SETTINGS}" in env
    assert "8000" in [arguments for keyword, arguments in final if keyword == "EXPOSE"]
    (cmd,) = [arguments for keyword, arguments in final if keyword == "CMD"]
    assert json.loads(cmd) == split_command(compose["services"]["web"]["command"])
    assert not [arguments for keyword, arguments in final if keyword == "ENTRYPOINT"]


def test_dockerignore_keeps_local_state_out_of_the_image():
    patterns = {line.strip() for line in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".data", ".env"} <= patterns


def test_compose_runs_a_simulated_fleet_that_reaches_web_over_http(compose):
    fleet = compose["services"]["simulated-agents"]
    command = " ".join(fleet["command"])
    assert "python -m tidegrid.demofleet --server http://web:8000" in command
    assert fleet["depends_on"]["web"]["condition"] == "service_healthy"
    assert fleet["image"] == compose["services"]["web"]["image"]
