from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [path("organization/audit/", views.audit_log, name="audit_log")]
