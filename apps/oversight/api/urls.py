from django.urls import path

from . import views

prefix = "organizations/<uuid:organization_id>/oversight/"

urlpatterns = [
    path(f"{prefix}kpis/", views.KpiView.as_view(), name="oversight-kpis"),
    path(f"{prefix}breakdown/", views.BreakdownView.as_view(), name="oversight-breakdown"),
    path(f"{prefix}series/", views.SeriesView.as_view(), name="oversight-series"),
    path(f"{prefix}targets/", views.TargetView.as_view(), name="oversight-targets"),
    path(f"{prefix}export/", views.ExportView.as_view(), name="oversight-export"),
    path(f"{prefix}evidence/", views.EvidenceView.as_view(), name="oversight-evidence"),
    path(f"{prefix}settlement-gates/", views.SettlementGateView.as_view(), name="oversight-settlement-gates"),
]
