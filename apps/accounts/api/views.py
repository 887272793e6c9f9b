"""The caller's own SSH public keys. Keys belong to a person, not an organization: an API key (which
acts for one organization) may list them but not add or remove them, since a key added here opens a
shell on every instance its user starts, in any of their organizations."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from .. import selectors, services
from ..models import SshKey
from . import serializers as s


def _refuse_api_key(request) -> None:
    if request.auth is not None:  # an API key (session logins carry no auth object)
        raise PermissionDenied("API keys cannot change SSH keys; sign in to the portal or use a session.")


class SshKeyListCreateView(generics.ListAPIView):
    serializer_class = s.SshKeySerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SshKey.objects.none()
        return selectors.ssh_key_list(user=self.request.user)

    @extend_schema(request=s.SshKeyCreateSerializer, responses={201: s.SshKeySerializer})
    def post(self, request):
        _refuse_api_key(request)
        serializer = s.SshKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = services.ssh_key_add(user=request.user, **serializer.validated_data)
        return Response(s.SshKeySerializer(key).data, status=status.HTTP_201_CREATED)


class SshKeyDetailView(generics.GenericAPIView):
    serializer_class = s.SshKeySerializer

    @extend_schema(responses=s.SshKeySerializer)
    def get(self, request, pk):
        return Response(s.SshKeySerializer(selectors.ssh_key_get(user=request.user, pk=pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        _refuse_api_key(request)
        key = selectors.ssh_key_get(user=request.user, pk=pk)
        services.ssh_key_delete(user=request.user, ssh_key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)
