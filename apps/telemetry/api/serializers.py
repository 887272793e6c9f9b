from rest_framework import serializers

RUNTIMES = ["process", "kubernetes", "noop"]
BACKENDS = ["nvml", "ascend", "simulated"]


class InventoryDeviceSerializer(serializers.Serializer):
    uuid = serializers.CharField(max_length=100)
    index = serializers.IntegerField(min_value=0, max_value=255)
    model = serializers.CharField(max_length=100)
    vendor = serializers.CharField(max_length=20, required=False, allow_blank=True)
    memory_total_mib = serializers.IntegerField(min_value=1, max_value=10_000_000)


class EnrollSerializer(serializers.Serializer):
    bootstrap_token = serializers.CharField(max_length=200)
    hostname = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9.\-_]{0,252}$", max_length=253)
    agent_version = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    runtime = serializers.ChoiceField(choices=RUNTIMES)
    device_backend = serializers.ChoiceField(choices=BACKENDS)
    cpu_milli = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    memory_mib = serializers.IntegerField(min_value=0, max_value=1_000_000_000, default=0)
    labels = serializers.DictField(child=serializers.CharField(max_length=200), required=False, default=dict)
    devices = InventoryDeviceSerializer(many=True, max_length=64)

    def validate_devices(self, devices):
        uuids = [device["uuid"] for device in devices]
        indices = [device["index"] for device in devices]
        if len(set(uuids)) != len(uuids) or len(set(indices)) != len(indices):
            raise serializers.ValidationError("Device uuids and indices must be unique on a node.")
        return devices
