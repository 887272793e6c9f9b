from django.urls import path

from . import views

urlpatterns = [
    path("enroll", views.EnrollView.as_view(), name="agent-enroll"),
    path("heartbeat", views.HeartbeatView.as_view(), name="agent-heartbeat"),
]
