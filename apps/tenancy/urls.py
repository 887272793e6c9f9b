from django.urls import path

from . import views

app_name = "tenancy"

urlpatterns = [
    path("organizations/new/", views.organization_create, name="organization_create"),
    path("organizations/switch/", views.organization_switch, name="organization_switch"),
    path("organization/", views.organization_settings, name="organization_settings"),
    path("organization/members/", views.members, name="members"),
    path("organization/members/<int:pk>/role/", views.member_change_role, name="member_change_role"),
    path("organization/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("organization/invitations/<uuid:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("organization/api-keys/", views.api_keys, name="api_keys"),
    path("organization/api-keys/<uuid:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
