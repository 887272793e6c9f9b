from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from apps.core import health
from apps.telemetry.metrics import metrics

# (Replaced, not extended: next to a hash, browsers ignore 'unsafe-inline'.)
_docs_csp = csp_replace({"style-src": [SELF, UNSAFE_INLINE]})

api_v1 = [
    path("", include("apps.tenancy.api.urls")),
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.catalog.api.urls")),
    path("", include("apps.audit.api.urls")),
    path("", include("apps.booking.api.urls")),
    path("", include("apps.billing.api.urls")),
    path("", include("apps.ledger.api.urls")),
    path("", include("apps.vouchers.api.urls")),
    path("", include("apps.oversight.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The API docs pages: Swagger UI's start-up script is served as a file (the split view), but both UIs
    # style themselves with inline <style>, which the production Content-Security-Policy allows here only.
    path("docs/", _docs_csp(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="swagger-ui"),
    path("redoc/", _docs_csp(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("api/v1/", include((api_v1, "api"))),
    path("api/agent/v1/", include("apps.telemetry.api.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("apps.tenancy.urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.audit.urls")),
    path("", include("apps.portal.fleet_urls")),
    path("", include("apps.booking.urls")),
    path("", include("apps.billing.urls")),
    path("", include("apps.ledger.urls")),
    path("", include("apps.vouchers.urls")),
    path("", include("apps.oversight.urls")),
    path("", include("apps.portal.urls")),
]

admin.site.site_header = "TideGrid operations"
admin.site.site_title = "TideGrid"

handler404 = "apps.core.middleware.page_not_found"
