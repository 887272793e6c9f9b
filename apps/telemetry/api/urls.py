from django.urls import path

from . import views

urlpatterns = [
    path("enroll", views.EnrollView.as_view(), name="agent-enroll"),
    path("heartbeat", views.heartbeat, name="agent-heartbeat"),
]
