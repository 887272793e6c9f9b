from django.urls import path

from . import views

app_name = "booking"

urlpatterns = [
    path("workloads/", views.workload_list, name="workload_list"),
    path("workloads/<uuid:pk>/", views.workload_detail, name="workload_detail"),
    path("workloads/<uuid:pk>/stop/", views.workload_stop, name="workload_stop"),
]
