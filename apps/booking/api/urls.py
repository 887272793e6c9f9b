from django.urls import path

from . import views

urlpatterns = [
    path("images/", views.ImageListView.as_view(), name="image-list"),
    path("organizations/<uuid:organization_id>/quota/", views.QuotaView.as_view(), name="organization-quota"),
    path("organizations/<uuid:organization_id>/workloads/", views.WorkloadListCreateView.as_view(),
         name="workload-list"),
    path("organizations/<uuid:organization_id>/workloads/<uuid:pk>/", views.WorkloadDetailView.as_view(),
         name="workload-detail"),
    path("organizations/<uuid:organization_id>/workloads/<uuid:pk>/stop/", views.WorkloadStopView.as_view(),
         name="workload-stop"),
    path("organizations/<uuid:organization_id>/workloads/<uuid:pk>/restart/", views.WorkloadRestartView.as_view(),
         name="workload-restart"),
    path("organizations/<uuid:organization_id>/workloads/<uuid:pk>/extend/",
         views.WorkloadReservationExtendView.as_view(), name="workload-extend"),
]
