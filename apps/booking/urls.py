from django.urls import path

from . import views

app_name = "booking"

urlpatterns = [
    path("market/", views.market_view, name="market"),
    path("workloads/", views.workload_list, name="workload_list"),
    path("workloads/new/", views.workload_new, name="workload_new"),
    path("workloads/new/estimate/", views.workload_estimate, name="workload_estimate"),
    path("workloads/<uuid:pk>/", views.workload_detail, name="workload_detail"),
    path("workloads/<uuid:pk>/status/", views.workload_status, name="workload_status"),
    path("workloads/<uuid:pk>/usage.json", views.workload_usage, name="workload_usage"),
    path("workloads/<uuid:pk>/stop/", views.workload_stop, name="workload_stop"),
    path("workloads/<uuid:pk>/restart/", views.workload_restart, name="workload_restart"),
    path("workloads/<uuid:pk>/extend/", views.workload_extend, name="workload_extend"),
]
