from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..services import credential_authenticate


class NodeCredentialAuthentication(authentication.BaseAuthentication):
    """``Authorization: Node tgn_…`` — the agent's per-node credential."""

    def authenticate(self, request):
        scheme, _sep, credential = authentication.get_authorization_header(request).decode("latin-1").partition(" ")
        if scheme.lower() != "node" or not credential.strip():
            raise exceptions.AuthenticationFailed("Send the node credential as 'Authorization: Node <credential>'.")
        node = credential_authenticate(plaintext=credential.strip())
        if node is None:
            raise exceptions.AuthenticationFailed("This node credential is unknown or was revoked: re-enroll the node.")
        return None, node

    def authenticate_header(self, request):
        return "Node"


class NodeCredentialScheme(OpenApiAuthenticationExtension):
    target_class = "apps.telemetry.api.authentication.NodeCredentialAuthentication"
    name = "NodeCredential"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": 'Send "Node <credential>" (returned by /api/agent/v1/enroll).'}
