from django.urls import path, re_path

from . import views

app_name = "oversight"

urlpatterns = [
    path("oversight/", views.dashboard, name="dashboard"),
    path("oversight/targets/", views.targets, name="targets"),
    re_path(r"^oversight/export\.(?P<fmt>csv|xlsx)$", views.export, name="export"),
    path("oversight/evidence.zip", views.evidence, name="evidence"),
    path("oversight/report.pdf", views.report, name="report"),
]
