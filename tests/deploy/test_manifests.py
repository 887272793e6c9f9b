"""The Kubernetes manifests under platform/: schema-valid, consistent with each other and with the app.

Every resource is validated (strict: unknown fields are errors) against the Kubernetes OpenAPI
schemas that kubernetes-validate ships, both as written in the base and as rendered by each overlay.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest

from .descriptors import (
    BASE_DIR,
    CELERY_QUEUES,
    KUBERNETES_DIR,
    PLATFORM_DIR,
    PRODUCTION_SETTINGS,
    REQUIRED_ENV,
    all_containers,
    container,
    find,
    kustomization_dirs,
    load_kustomization,
    load_yaml_documents,
    pod_spec,
    render_kustomization,
    walk,
)

KUBERNETES_VERSION = "1.33"
SECRET_NAME = "tidegrid-secrets"
CONFIGMAP_NAME = "tidegrid-config"
SECRET_EXAMPLE = BASE_DIR / "secret.example.yaml"
WORKLOADS = {"Deployment", "Job"}

KUSTOMIZATIONS = [str(directory.relative_to(KUBERNETES_DIR)) for directory in kustomization_dirs()]


def _validate(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def _label(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def _workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] in WORKLOADS]


def _configmap_data(docs: list[dict[str, Any]]) -> dict[str, str]:
    return find(docs, "ConfigMap", CONFIGMAP_NAME)["data"]


def _secret_example_keys() -> set[str]:
    (secret,) = load_yaml_documents(SECRET_EXAMPLE)
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


def _resource_files() -> list[str]:
    """Every plain resource file under platform/kubernetes (not kustomizations, not patches)."""
    patch_files = {
        (directory / entry["path"]).resolve()
        for directory in kustomization_dirs()
        for entry in load_kustomization(directory).get("patches", [])
    }
    return sorted(
        str(path.relative_to(KUBERNETES_DIR))
        for path in KUBERNETES_DIR.rglob("*.y*ml")
        if path.name != "kustomization.yaml" and path.resolve() not in patch_files
    )


# --- the platform folder itself ---------------------------------------------------------------------

def test_platform_contains_no_python_files():
    # A package named `platform` shadows the standard library module and breaks uuid, Celery, redis...
    offenders = [str(path.relative_to(PLATFORM_DIR)) for path in PLATFORM_DIR.rglob("*")
                 if path.suffix in {".py", ".pyc"} or path.name == "__pycache__"]
    assert offenders == []


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_kustomization_lists_files_that_exist(kustomization):
    directory = KUBERNETES_DIR / kustomization
    config = load_kustomization(directory)
    listed = [*config.get("resources", []), *(entry["path"] for entry in config.get("patches", []))]
    assert listed, f"{kustomization} lists nothing"
    missing = [entry for entry in listed if not (directory / entry).exists()]
    assert missing == []


def test_every_resource_file_is_used_by_a_kustomization():
    used = {
        (directory / entry).resolve()
        for directory in kustomization_dirs()
        for entry in load_kustomization(directory).get("resources", [])
    }
    orphans = [name for name in _resource_files()
               if (KUBERNETES_DIR / name).resolve() not in used and KUBERNETES_DIR / name != SECRET_EXAMPLE]
    assert orphans == [], "files no kustomization applies (forgotten in resources?)"


def test_secret_example_is_never_applied():
    for directory in kustomization_dirs():
        assert "secret.example.yaml" not in load_kustomization(directory).get("resources", [])
    (secret,) = load_yaml_documents(SECRET_EXAMPLE)
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == SECRET_NAME
    # Placeholders only: every value is an obvious <...> template, nothing that could be a real secret.
    assert all("<" in value and ">" in value for value in secret["stringData"].values())


# --- schema validation ------------------------------------------------------------------------------

@pytest.mark.parametrize("filename", _resource_files())
def test_resource_file_is_valid_kubernetes(filename):
    docs = load_yaml_documents(KUBERNETES_DIR / filename)
    assert docs, f"{filename} holds no YAML document"
    for doc in docs:
        _validate(doc)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_kustomization_is_valid_kubernetes(kustomization, rendered):
    docs = rendered[kustomization]
    assert {doc["kind"] for doc in docs} >= {"Namespace", "ConfigMap", "Deployment", "Job", "Service", "Ingress",
                                             "PodDisruptionBudget", "HorizontalPodAutoscaler"}
    for doc in docs:
        _validate(doc)


def test_strict_validation_rejects_unknown_fields(base_docs):
    # Proves the check above has teeth: a misspelt field must not pass.
    web = copy.deepcopy(find(base_docs, "Deployment", "tidegrid-web"))
    container(web, "web")["readinesProbe"] = {"httpGet": {"path": "/readyz", "port": 8000}}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(web)


def test_quantities_are_strings(rendered):
    # Quantities written as YAML numbers (cpu: 1) are the kind of thing client libraries reject.
    for docs in rendered.values():
        for doc in docs:
            for path, value in walk(doc):
                if path.endswith(".sizeLimit") or ".resources.requests." in path or ".resources.limits." in path:
                    assert isinstance(value, str), f"{_label(doc)} {path} = {value!r} must be a string"


# --- workloads --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_workload_runs_the_same_image(kustomization, rendered):
    images = {c["image"] for doc in _workloads(rendered[kustomization]) for c in all_containers(pod_spec(doc))}
    assert len(images) == 1, f"web, workers, beat and migrations must run one build: {images}"


def test_production_pins_an_image_tag(rendered):
    docs = rendered["overlays/production"]
    (image,) = {c["image"] for doc in _workloads(docs) for c in all_containers(pod_spec(doc))}
    tag = image.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]
    assert "@sha256:" in image or tag not in {"", "latest"}, f"production must pin a release, not {image}"


def test_processes_run_the_documented_commands(base_docs):
    web = container(find(base_docs, "Deployment", "tidegrid-web"), "web")
    assert web["command"] == ["gunicorn", "tidegrid.wsgi:application", "--bind", "0.0.0.0:8000",
                              "--workers", "3", "--access-logfile", "-"]
    migrate = container(find(base_docs, "Job", "tidegrid-migrate"), "migrate")
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    beat = container(find(base_docs, "Deployment", "tidegrid-beat"), "beat")
    assert beat["command"][:4] == ["celery", "-A", "tidegrid", "beat"]
    assert beat["command"][beat["command"].index("--schedule") + 1].startswith("/tmp/")


def test_worker_consumes_every_queue(base_docs):
    command = container(find(base_docs, "Deployment", "tidegrid-worker"), "worker")["command"]
    assert command[:4] == ["celery", "-A", "tidegrid", "worker"]
    assert set(command[command.index("-Q") + 1].split(",")) == CELERY_QUEUES


def test_worker_pool_is_sized_by_the_container_not_the_node(base_docs):
    worker = container(find(base_docs, "Deployment", "tidegrid-worker"), "worker")
    env = {item["name"]: item.get("value") for item in worker.get("env", [])}
    command = worker["command"]
    assert env.get("CELERY_WORKER_CONCURRENCY") or "--concurrency" in command or "-c" in command


def test_worker_liveness_pings_its_own_node(base_docs):
    worker = container(find(base_docs, "Deployment", "tidegrid-worker"), "worker")
    probe = worker["livenessProbe"]
    shell, flag, script = probe["exec"]["command"]
    # Exec probes do not expand variables themselves: $HOSTNAME needs the shell.
    assert (shell, flag) == ("sh", "-c")
    assert "celery -A tidegrid inspect ping" in script and "-d celery@$HOSTNAME" in script
    assert probe["timeoutSeconds"] >= 10 and probe["periodSeconds"] >= 30 and probe["failureThreshold"] >= 3
    assert "ports" not in worker


def test_web_probes_liveness_on_healthz_and_readiness_on_readyz(rendered):
    for docs in rendered.values():
        web = container(find(docs, "Deployment", "tidegrid-web"), "web")
        ports = {port["name"]: port["containerPort"] for port in web["ports"]}
        assert ports == {"http": 8000}
        allowed_hosts = _configmap_data(docs)["DJANGO_ALLOWED_HOSTS"].split(",")
        for probe_name, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                                 ("startupProbe", "/healthz")):
            http_get = web[probe_name]["httpGet"]
            assert http_get["path"] == path
            assert ports.get(http_get["port"], http_get["port"]) == 8000
            # Django answers 400 to a Host it does not allow; the kubelet would otherwise send the pod IP.
            host_headers = [h["value"] for h in http_get.get("httpHeaders", []) if h["name"].lower() == "host"]
            assert host_headers and host_headers[0] in allowed_hosts, f"{probe_name} Host header not allowed"


def test_beat_runs_exactly_one_replica(rendered):
    for docs in rendered.values():
        beat = find(docs, "Deployment", "tidegrid-beat")
        assert beat["spec"]["replicas"] == 1
        # RollingUpdate would briefly run the old and the new beat side by side.
        assert beat["spec"]["strategy"]["type"] == "Recreate"
        assert not [hpa for hpa in docs if hpa["kind"] == "HorizontalPodAutoscaler"
                    and hpa["spec"]["scaleTargetRef"]["name"] == "tidegrid-beat"]


def test_autoscaled_deployments_leave_replicas_to_the_autoscaler(rendered):
    for docs in rendered.values():
        targets = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in docs if hpa["kind"] == "HorizontalPodAutoscaler"}
        assert targets == {"tidegrid-web", "tidegrid-worker"}
        for name in targets:
            deployment = find(docs, "Deployment", name)
            assert "replicas" not in deployment["spec"], f"{name}: a fixed replicas fights the autoscaler"
        for hpa in (doc for doc in docs if doc["kind"] == "HorizontalPodAutoscaler"):
            assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_selectors_pick_the_right_pods(rendered):
    for docs in rendered.values():
        templates = {doc["metadata"]["name"]: doc["spec"]["template"]["metadata"]["labels"]
                     for doc in docs if doc["kind"] == "Deployment"}
        for doc in docs:
            if doc["kind"] == "Deployment":
                assert doc["spec"]["selector"]["matchLabels"].items() <= templates[doc["metadata"]["name"]].items()
            if doc["kind"] in {"Service", "PodDisruptionBudget"}:
                selector = doc["spec"]["selector"]
                selector = selector.get("matchLabels", selector) if doc["kind"] == "PodDisruptionBudget" else selector
                selected = [name for name, labels in templates.items() if selector.items() <= labels.items()]
                assert len(selected) == 1, f"{_label(doc)} selects {selected}"
                assert selected != ["tidegrid-beat"], "a disruption budget on the single beat blocks node drains"


def test_every_workload_is_hardened(rendered):
    for docs in rendered.values():
        for doc in _workloads(docs):
            spec = pod_spec(doc)
            assert spec["automountServiceAccountToken"] is False, _label(doc)
            assert spec["securityContext"]["runAsNonRoot"] is True, _label(doc)
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", _label(doc)
            volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
            for c in all_containers(spec):
                where = f"{_label(doc)} container {c['name']}"
                context = c["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, where
                assert context["readOnlyRootFilesystem"] is True, where
                assert context["capabilities"]["drop"] == ["ALL"], where
                (tmp,) = [mount for mount in c["volumeMounts"] if mount["mountPath"] == "/tmp"]
                assert "emptyDir" in volumes[tmp["name"]], f"{where}: /tmp must be a writable emptyDir"
                for section in ("requests", "limits"):
                    assert set(c["resources"][section]) >= {"cpu", "memory"}, f"{where} {section}"


def test_namespace_applies_the_restricted_pod_security_standard(rendered):
    for docs in rendered.values():
        (namespace,) = [doc for doc in docs if doc["kind"] == "Namespace"]
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        for doc in docs:
            if doc["kind"] != "Namespace":
                assert doc["metadata"]["namespace"] == namespace["metadata"]["name"], _label(doc)


# --- configuration --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_container_gets_the_required_environment(kustomization, rendered):
    docs = rendered[kustomization]
    config = _configmap_data(docs)
    assert config["DJANGO_SETTINGS_MODULE"] == PRODUCTION_SETTINGS
    for doc in _workloads(docs):
        for c in all_containers(pod_spec(doc)):
            sources = c.get("envFrom", [])
            config_maps = {s["configMapRef"]["name"] for s in sources if "configMapRef" in s}
            secrets = {s["secretRef"]["name"] for s in sources if "secretRef" in s}
            assert CONFIGMAP_NAME in config_maps and SECRET_NAME in secrets, f"{_label(doc)} {c['name']}"
            # A missing Secret must stop the pod, not start Django without its key.
            assert not any(s.get("secretRef", {}).get("optional") for s in sources)
            provided = set(config) | _secret_example_keys() | {env["name"] for env in c.get("env", [])}
            missing = set(REQUIRED_ENV) - provided
            assert not missing, f"{_label(doc)} {c['name']} lacks {missing}"
            overrides = {env["name"]: env.get("value") for env in c.get("env", [])}
            assert overrides.get("DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS) == PRODUCTION_SETTINGS


def test_secrets_stay_out_of_the_configmap(rendered):
    for docs in rendered.values():
        config = _configmap_data(docs)
        leaked = {key for key in config if key in {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
                  or "PASSWORD" in key or "TOKEN" in key}
        assert not leaked, f"secret values belong in {SECRET_NAME}: {leaked}"
        assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= _secret_example_keys()


def test_smtp_mail_has_a_host(rendered):
    # Production settings require DJANGO_EMAIL_HOST as soon as the SMTP backend is chosen.
    for docs in rendered.values():
        config = _configmap_data(docs)
        if config.get("DJANGO_EMAIL_BACKEND", "").endswith("smtp.EmailBackend"):
            assert config.get("DJANGO_EMAIL_HOST")


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_ingress_hosts_are_allowed_and_route_to_web(kustomization, rendered):
    docs = rendered[kustomization]
    config = _configmap_data(docs)
    allowed_hosts = config["DJANGO_ALLOWED_HOSTS"].split(",")
    trusted_origins = config.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",")
    ingress = find(docs, "Ingress", "tidegrid")
    service = find(docs, "Service", "tidegrid-web")
    service_ports = {port["name"] for port in service["spec"]["ports"]}
    hosts = set()
    for rule in ingress["spec"]["rules"]:
        hosts.add(rule["host"])
        assert rule["host"] in allowed_hosts
        assert f"https://{rule['host']}" in trusted_origins
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] in service_ports
    tls_hosts = {host for entry in ingress["spec"]["tls"] for host in entry["hosts"]}
    assert hosts <= tls_hosts, "every public host is served over TLS"
    assert urlsplit(config["TIDEGRID_SITE_URL"]).hostname in hosts
    web = container(find(docs, "Deployment", "tidegrid-web"), "web")
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= {p["name"] for p in web["ports"]}


def test_base_renders_without_the_overlay():
    # The base alone is applyable (e.g. a test cluster with a locally loaded image).
    docs = render_kustomization(BASE_DIR)
    assert {_label(doc) for doc in _workloads(docs)} == {
        "Deployment/tidegrid-web", "Deployment/tidegrid-worker", "Deployment/tidegrid-beat", "Job/tidegrid-migrate"}
