from django.urls import path

from . import fleet as views

app_name = "fleet"

urlpatterns = [
    path("provider/vetting/", views.provider_vetting, name="provider_vetting"),
    path("provider/clusters/", views.cluster_list, name="cluster_list"),
    path("provider/clusters/<uuid:pk>/", views.cluster_detail, name="cluster_detail"),
    path("provider/clusters/<uuid:pk>/sharing/", views.cluster_sharing, name="cluster_sharing"),
    path("provider/clusters/<uuid:pk>/address/", views.cluster_address, name="cluster_address"),
    path("provider/clusters/<uuid:pk>/nodes/", views.cluster_nodes_partial, name="cluster_nodes_partial"),
    path("provider/tokens/<uuid:pk>/revoke/", views.bootstrap_token_revoke, name="bootstrap_token_revoke"),
    path("provider/nodes/<uuid:pk>/", views.node_detail, name="node_detail"),
    path("provider/nodes/<uuid:pk>/telemetry.json", views.node_telemetry, name="node_telemetry"),
    path("provider/nodes/<uuid:pk>/action/", views.node_action, name="node_action"),
    path("provider/devices/<uuid:pk>/release/", views.device_release, name="device_release"),
]
