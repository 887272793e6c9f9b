from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("account/ssh-keys/", views.ssh_keys, name="ssh_keys"),
    path("account/ssh-keys/<uuid:pk>/delete/", views.ssh_key_delete, name="ssh_key_delete"),
]
