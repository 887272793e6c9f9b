"""The only module that calls the Kubernetes API (the official ``kubernetes`` client).

Manifests travel as plain dicts in the API's JSON form (camelCase) and are turned into the client's
pydantic models here (``V1Pod.from_dict``), which also checks them: the models reject integer
quantities, so resource quantities are strings everywhere. Answers come back as plain dicts too
(``sanitize_for_serialization``), so the runtime and its tests never touch client objects.
"""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)


class K8sError(RuntimeError):
    """The API server refused the request (``status`` is its HTTP status) or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def pod_model(manifest: dict[str, Any]):
    """The client's ``V1Pod`` for a manifest dict (raises pydantic's ValidationError when it does not fit)."""
    from kubernetes.client import V1Pod

    return V1Pod.from_dict(manifest)


def to_plain(obj: Any) -> Any:
    """A client model as the JSON-form dict the API server sent (camelCase keys, ISO timestamps)."""
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(obj)


class K8sClient:
    def __init__(self, namespace: str, *, kubeconfig: str | None = None, context: str | None = None) -> None:
        from kubernetes import client, config

        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config()
        else:
            config.load_kube_config(config_file=kubeconfig, context=context)
        self.namespace = namespace
        self._core = client.CoreV1Api()

    def _call(self, what: str, call, *args, **kwargs):
        from kubernetes.client.exceptions import ApiException

        try:
            return call(*args, **kwargs)
        except ApiException as error:
            raise K8sError(f"{what}: HTTP {error.status} {error.reason}", status=error.status) from None
        except OSError as error:  # urllib3 connection errors derive from it
            raise K8sError(f"{what}: {error}") from None
        except Exception as error:
            if type(error).__module__.startswith("urllib3"):
                raise K8sError(f"{what}: {error}") from None
            raise

    def create_pod(self, manifest: dict[str, Any]) -> None:
        """Create the pod; one that already exists (a retried create) is fine."""
        try:
            self._call("create pod", self._core.create_namespaced_pod, self.namespace, pod_model(manifest),
                       _request_timeout=30)
        except K8sError as error:
            if error.status != 409:
                raise

    def delete_pod(self, name: str, *, grace_period_s: int = 30) -> bool:
        """Delete the pod; False when it was already gone."""
        try:
            self._call("delete pod", self._core.delete_namespaced_pod, name, self.namespace,
                       grace_period_seconds=grace_period_s, _request_timeout=30)
        except K8sError as error:
            if error.status == 404:
                return False
            raise
        return True

    def read_pod(self, name: str) -> dict[str, Any] | None:
        try:
            return to_plain(self._call("read pod", self._core.read_namespaced_pod, name, self.namespace,
                                       _request_timeout=30))
        except K8sError as error:
            if error.status == 404:
                return None
            raise

    def list_pods(self, label_selector: str) -> list[dict[str, Any]]:
        answer = self._call("list pods", self._core.list_namespaced_pod, self.namespace,
                            label_selector=label_selector, _request_timeout=30)
        return [to_plain(pod) for pod in answer.items or []]

    def read_log_tail(self, name: str, *, limit_bytes: int = 4096, tail_lines: int = 200) -> str:
        try:
            text = self._call("read log", self._core.read_namespaced_pod_log, name, self.namespace,
                              tail_lines=tail_lines, _request_timeout=30)
        except K8sError as error:
            logger.info("no log for pod %s: %s", name, error)
            return ""
        return (text or "")[-limit_bytes:]
