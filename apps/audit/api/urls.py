from django.urls import path

from .views import AuditEventListView

urlpatterns = [
    path("organizations/<uuid:organization_id>/audit-events/", AuditEventListView.as_view(), name="audit-event-list"),
]
