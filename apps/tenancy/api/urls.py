from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("organizations/", views.OrganizationListCreateView.as_view(), name="organization-list"),
    path("organizations/<uuid:organization_id>/", views.OrganizationDetailView.as_view(), name="organization-detail"),
    path("organizations/<uuid:organization_id>/members/", views.MemberListView.as_view(), name="member-list"),
    path("organizations/<uuid:organization_id>/members/<int:pk>/", views.MemberDetailView.as_view(),
         name="member-detail"),
    path("organizations/<uuid:organization_id>/invitations/", views.InvitationListCreateView.as_view(),
         name="invitation-list"),
    path("organizations/<uuid:organization_id>/invitations/<uuid:pk>/revoke/", views.InvitationRevokeView.as_view(),
         name="invitation-revoke"),
    path("invitations/accept/", views.InvitationAcceptView.as_view(), name="invitation-accept"),
    path("organizations/<uuid:organization_id>/api-keys/", views.ApiKeyListCreateView.as_view(),
         name="api-key-list"),
    path("organizations/<uuid:organization_id>/api-keys/<uuid:pk>/revoke/", views.ApiKeyRevokeView.as_view(),
         name="api-key-revoke"),
]
