from django.urls import path

from . import views

app_name = "vouchers"

urlpatterns = [
    path("vouchers/", views.home, name="home"),
    path("vouchers/programs/new/", views.program_new, name="program_new"),
    path("vouchers/programs/<uuid:pk>/", views.program_detail, name="program_detail"),
    path("vouchers/programs/<uuid:pk>/versions/", views.version_new, name="version_new"),
    path("vouchers/programs/<uuid:pk>/versions/<int:number>/publish/", views.version_publish,
         name="version_publish"),
    path("vouchers/programs/<uuid:pk>/action/", views.program_action, name="program_action"),
    path("vouchers/programs/<uuid:pk>/apply/", views.apply, name="apply"),
    path("vouchers/applications/", views.application_list, name="application_list"),
    path("vouchers/applications/<uuid:pk>/", views.application_detail, name="application_detail"),
    path("vouchers/flags/<int:pk>/", views.flag_decide, name="flag_decide"),
    path("vouchers/claims/", views.claim_new, name="claim_new"),
    path("vouchers/claims/<uuid:pk>/", views.claim_decide, name="claim_decide"),
    path("vouchers/spikes/<int:pk>/", views.spike_close, name="spike_close"),
]
