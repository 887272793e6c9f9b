from rest_framework import serializers

from ..models import SshKey


class SshKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = SshKey
        fields = ("id", "name", "key_type", "bits", "fingerprint", "public_key", "created_at")
        read_only_fields = fields


class SshKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    public_key = serializers.CharField(max_length=16 * 1024, trim_whitespace=True)
