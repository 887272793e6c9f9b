from django.urls import path

from . import views, webhooks

app_name = "ledger"

urlpatterns = [
    path("wallet/", views.wallet, name="wallet"),
    path("stripe/webhook", webhooks.stripe_webhook, name="stripe_webhook"),
]
