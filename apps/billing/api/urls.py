from django.urls import path

from . import views

urlpatterns = [
    path("prices/", views.PriceListView.as_view(), name="price-list"),
    path("organizations/<uuid:organization_id>/price-quote/", views.PriceQuoteView.as_view(), name="price-quote"),
    path("organizations/<uuid:organization_id>/usage/", views.UsageView.as_view(), name="usage"),
    path("organizations/<uuid:organization_id>/invoices/", views.InvoiceListView.as_view(), name="invoice-list"),
    path("organizations/<uuid:organization_id>/invoices/<uuid:pk>/", views.InvoiceDetailView.as_view(),
         name="invoice-detail"),
    path("organizations/<uuid:organization_id>/invoices/<uuid:pk>/fapiao/", views.InvoiceFapiaoView.as_view(),
         name="invoice-fapiao"),
    path("staff/fapiao/<uuid:pk>/issue/", views.StaffFapiaoIssueView.as_view(), name="staff-fapiao-issue"),
    path("staff/fapiao/<uuid:pk>/reject/", views.StaffFapiaoRejectView.as_view(), name="staff-fapiao-reject"),
    path("organizations/<uuid:organization_id>/statements/", views.StatementView.as_view(), name="statement"),
]
