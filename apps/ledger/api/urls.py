from django.urls import path

from . import views

urlpatterns = [
    path("organizations/<uuid:organization_id>/wallet/", views.WalletView.as_view(), name="ledger-wallet"),
    path("organizations/<uuid:organization_id>/wallet/top-ups/", views.TopUpCreateView.as_view(),
         name="ledger-top-up-create"),
    path("organizations/<uuid:organization_id>/ledger/transactions/", views.TransactionListView.as_view(),
         name="ledger-transaction-list"),
    path("organizations/<uuid:organization_id>/payments/", views.PaymentListView.as_view(),
         name="ledger-payment-list"),
    path("organizations/<uuid:organization_id>/bank-transfers/", views.BankTransferListView.as_view(),
         name="ledger-bank-transfer-list"),
    path("staff/bank-transfers/", views.StaffBankTransferCreateView.as_view(), name="ledger-staff-bank-transfer"),
    path("organizations/<uuid:organization_id>/payments/<uuid:pk>/refund/", views.RefundCreateView.as_view(),
         name="ledger-payment-refund"),
]
