from django.urls import path

from . import views

urlpatterns = [
    path("organizations/<uuid:organization_id>/workloads/", views.WorkloadListCreateView.as_view(),
         name="workload-list"),
    path("organizations/<uuid:organization_id>/workloads/<uuid:pk>/", views.WorkloadDetailView.as_view(),
         name="workload-detail"),
    path("organizations/<uuid:organization_id>/workloads/<uuid:pk>/stop/", views.WorkloadStopView.as_view(),
         name="workload-stop"),
]
