from django.urls import path

from . import views, webhooks

app_name = "ledger"

urlpatterns = [
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/top-up/", views.top_up, name="top_up"),
    path("wallet/threshold/", views.threshold, name="threshold"),
    path("wallet/transactions/", views.transactions, name="transactions"),
    path("wallet/payments/", views.payments, name="payments"),
    path("wallet/payments/<uuid:pk>/pay/", views.pay, name="pay"),
    path("wallet/payments/<uuid:pk>/test-card/", views.pay_test_card, name="pay_test_card"),
    path("wallet/payments/<uuid:pk>/refund/", views.refund, name="refund"),
    path("staff/bank-transfers/new/", views.bank_transfer_new, name="bank_transfer_new"),
    path("stripe/webhook", webhooks.stripe_webhook, name="stripe_webhook"),
]
