from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
    path("billing/usage/", views.usage, name="usage"),
    path("billing/invoices/", views.invoice_list, name="invoice_list"),
    path("billing/invoices/<uuid:pk>/", views.invoice_detail, name="invoice_detail"),
    path("billing/invoices/<uuid:pk>/fapiao/", views.fapiao_request, name="fapiao_request"),
    path("staff/fapiao/", views.staff_fapiao_list, name="staff_fapiao_list"),
    path("staff/fapiao/<uuid:pk>/", views.staff_fapiao_detail, name="staff_fapiao_detail"),
    path("billing/invoices/<uuid:pk>/pdf/", views.invoice_download_pdf, name="invoice_pdf"),
    path("billing/invoices/<uuid:pk>/csv/", views.invoice_download_csv, name="invoice_csv"),
    path("billing/statements/", views.statement, name="statement"),
    path("billing/statements/csv/", views.statement_csv, name="statement_csv"),
]
