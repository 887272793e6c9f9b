"""Runtimes: how assignments run (process, kubernetes, and noop for load tests)."""

from __future__ import annotations

from pathlib import Path

from ..devices.base import DeviceInfo
from .base import AssignmentStatus, Runtime

__all__ = ["RUNTIMES", "AssignmentStatus", "Runtime", "make_runtime"]

RUNTIMES = ("process", "kubernetes", "noop")


def make_runtime(name: str, *, state_dir: Path, hostname: str, devices: list[DeviceInfo],
                 namespace: str = "tidegrid", kube_node_name: str | None = None, kubeconfig: str | None = None,
                 default_image: str | None = None, grace_s: float = 10.0,
                 connect_host: str | None = None, ssh_port_base: int = 22000,
                 jupyter_port_base: int = 28000) -> Runtime:
    vendor = devices[0].vendor if devices else "nvidia"
    if name == "process":
        from .process import ProcessRuntime

        # Instances' SSH/Jupyter endpoints name the address customers reach this host at.
        return ProcessRuntime(state_dir=state_dir, vendor=vendor, hostname=connect_host or hostname, grace_s=grace_s,
                              ssh_port_base=ssh_port_base, jupyter_port_base=jupyter_port_base)
    if name == "kubernetes":
        from .k8s_client import K8sClient
        from .kubernetes import KubernetesRuntime

        return KubernetesRuntime(client=K8sClient(namespace, kubeconfig=kubeconfig), namespace=namespace,
                                 node_name=kube_node_name or hostname, devices=devices,
                                 default_image=default_image, grace_s=int(grace_s))
    if name == "noop":
        from .noop import NoopRuntime

        return NoopRuntime()
    raise ValueError(f"unknown runtime {name!r} (choose from {', '.join(RUNTIMES)})")
