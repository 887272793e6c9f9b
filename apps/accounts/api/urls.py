from django.urls import path

from . import views

urlpatterns = [
    path("me/ssh-keys/", views.SshKeyListCreateView.as_view(), name="ssh-key-list"),
    path("me/ssh-keys/<uuid:pk>/", views.SshKeyDetailView.as_view(), name="ssh-key-detail"),
]
