"""Production: every secret and address comes from the environment; HTTPS everywhere."""

from urllib.parse import urlsplit

from csp.constants import NONE, SELF

from .base import *  # noqa: F403
from .base import env

DEBUG = False
STRIPE_LOCAL_STAND_IN = False  # the local Stripe stand-in is for `make run` only
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")  # required: no default in production

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # kubelet probes speak plain HTTP inside the pod network
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

# --- Content-Security-Policy (django-csp). Everything the portal loads is served from this site (no CDN)
# except Stripe, whose Stripe.js, payment iframes and API the top-up page needs. The templates have no
# inline scripts or handlers (static/js/portal.js binds data-autosubmit / data-confirm); the one inline
# style, on the self-contained 500 page, is allowed by its hash (tests/security/test_csp.py checks it).
_STRIPE_JS_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(STRIPE_JS_URL))  # noqa: F405
_STRIPE_API_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(STRIPE_API_BASE))  # noqa: F405
ERROR_PAGE_STYLE_HASH = "'sha256-EFmVS9r2kKT4rBu7LX8/UggvRtw9BBsAR5pyBgCRvog='"
MIDDLEWARE = [*MIDDLEWARE[:1], "csp.middleware.CSPMiddleware", *MIDDLEWARE[1:]]  # noqa: F405
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, _STRIPE_JS_ORIGIN],
        "style-src": [SELF, ERROR_PAGE_STYLE_HASH],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF, _STRIPE_API_ORIGIN],
        "frame-src": [_STRIPE_JS_ORIGIN, "https://hooks.stripe.com"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
