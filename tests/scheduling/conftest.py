from apps.booking.models import Workload
from apps.catalog.models import Region
from apps.telemetry.services import bootstrap_token_create, node_enroll


def enroll_node(provider, cluster, hostname, model="Tesla T4", count=4, memory=15360, cpu_milli=32000):
    _token, plaintext = bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    node, _credential = node_enroll(bootstrap_token=plaintext, hostname=hostname, inventory={
        "runtime": "process", "device_backend": "simulated", "cpu_milli": cpu_milli, "memory_mib": 262144,
        "devices": [{"uuid": f"GPU-{hostname}-{i}", "index": i, "model": model, "memory_total_mib": memory}
                    for i in range(count)],
    })
    return node


def pending_workload(customer, region_code="cn-shanghai", **fields):
    defaults = {"name": "job", "cpu_milli": 1000, "memory_mib": 4096, "gpu_milli": 500, "gpu_memory_mib": 4096,
                "spec": {"command": ["python", "train.py"]}}
    defaults.update(fields)
    return Workload.objects.create(organization=customer.organization, created_by=customer.member,
                                   preferred_region=Region.objects.get(code=region_code), **defaults)
