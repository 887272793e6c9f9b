from django.urls import path

from . import views

ORG = "organizations/<uuid:organization_id>/"

urlpatterns = [
    path(f"{ORG}voucher-programs/", views.ProgramListView.as_view(), name="voucher-program-list"),
    path(f"{ORG}voucher-programs/open/", views.OpenProgramListView.as_view(), name="voucher-program-open"),
    path(f"{ORG}voucher-programs/<uuid:pk>/", views.ProgramDetailView.as_view(), name="voucher-program-detail"),
    path(f"{ORG}voucher-programs/<uuid:pk>/versions/", views.RuleVersionCreateView.as_view(),
         name="voucher-version-create"),
    path(f"{ORG}voucher-programs/<uuid:pk>/versions/<int:number>/publish/", views.RuleVersionPublishView.as_view(),
         name="voucher-version-publish"),
    path(f"{ORG}voucher-programs/<uuid:pk>/transition/", views.ProgramTransitionView.as_view(),
         name="voucher-program-transition"),
    path(f"{ORG}voucher-applications/", views.ApplicationListView.as_view(), name="voucher-application-list"),
    path(f"{ORG}voucher-applications/<uuid:pk>/", views.ApplicationDetailView.as_view(),
         name="voucher-application-detail"),
    path(f"{ORG}voucher-applications/<uuid:pk>/decision/", views.ApplicationDecisionView.as_view(),
         name="voucher-application-decision"),
    path(f"{ORG}voucher-grants/", views.GrantListView.as_view(), name="voucher-grant-list"),
    path(f"{ORG}voucher-lines/", views.VoucherLineListView.as_view(), name="voucher-line-list"),
    path(f"{ORG}voucher-flags/", views.IdleFlagListView.as_view(), name="voucher-flag-list"),
    path(f"{ORG}voucher-flags/<int:pk>/decision/", views.IdleFlagDecisionView.as_view(),
         name="voucher-flag-decision"),
    path(f"{ORG}voucher-claims/", views.ClaimListView.as_view(), name="voucher-claim-list"),
    path(f"{ORG}voucher-claims/<uuid:pk>/decision/", views.ClaimDecisionView.as_view(),
         name="voucher-claim-decision"),
    path(f"{ORG}voucher-estimate/", views.EstimateView.as_view(), name="voucher-estimate"),
    path(f"{ORG}voucher-revenue/", views.ProviderRevenueView.as_view(), name="voucher-revenue"),
    path(f"{ORG}voucher-spikes/", views.SpikeFlagListView.as_view(), name="voucher-spike-list"),
    path(f"{ORG}voucher-spikes/<int:pk>/close/", views.SpikeFlagCloseView.as_view(), name="voucher-spike-close"),
]
