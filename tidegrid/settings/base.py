"""Settings shared by every environment. Values that differ per deployment come from the environment.

``environ.Env`` raises ImproperlyConfigured naming the variable when a required one is missing, so a
misconfigured deployment fails at start-up instead of at the first request.
"""

from __future__ import annotations

from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("TIDEGRID_SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "apps.core",
    "apps.accounts",
    "apps.catalog",
    "apps.tenancy",
    "apps.audit",
    "apps.telemetry",
    "apps.booking",
    "apps.scheduling",
    "apps.billing",
    "apps.ledger",
    "apps.vouchers",
    "apps.oversight",
    "apps.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.core.middleware.JsonBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.tenancy.middleware.ActiveOrganizationMiddleware",
]

ROOT_URLCONF = "tidegrid.urls"
WSGI_APPLICATION = "tidegrid.wsgi.application"
ASGI_APPLICATION = "tidegrid.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.tenancy.context_processors.active_organization",
                "apps.ledger.context_processors.low_balance",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("TIDEGRID_CACHE_PREFIX", default="tidegrid"),
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:dashboard"

# --- django-allauth: email login, mandatory verification, TOTP, rate limits (kept in the Redis cache)
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[TideGrid] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str("TIDEGRID_HTTP_PROTOCOL", default="http")
ACCOUNT_ADAPTER = "apps.accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    # Failed logins: per IP, and per account AND IP ("key" is e-mail + client address, apps/accounts/adapter.py),
    # so one source can't keep guessing and no stranger can lock the owner out.
    "login_failed": env.str("TIDEGRID_LOGIN_FAILED_LIMIT", default="10/m/ip,5/5m/key"),
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
# Failures on one account from all sources slow its logins: after FREE failures in WINDOW, each check waits
# BASE * 2^(failures - FREE) seconds, at most MAX (apps/accounts/adapter.py).
TIDEGRID_LOGIN_DELAY_FREE_FAILURES = env.int("TIDEGRID_LOGIN_DELAY_FREE_FAILURES", default=5)
TIDEGRID_LOGIN_DELAY_BASE_S = env.float("TIDEGRID_LOGIN_DELAY_BASE_S", default=0.5)
TIDEGRID_LOGIN_DELAY_MAX_S = env.float("TIDEGRID_LOGIN_DELAY_MAX_S", default=4.0)
TIDEGRID_LOGIN_DELAY_WINDOW_S = env.int("TIDEGRID_LOGIN_DELAY_WINDOW_S", default=900)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "TideGrid"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = BASE_DIR / ".data" / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="TideGrid <no-reply@tidegrid.local>")
if EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    EMAIL_HOST = env.str("DJANGO_EMAIL_HOST")
    EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env.str("DJANGO_EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("DJANGO_EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=True)

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.tenancy.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.api.parsers.JSONParser",  # size and nesting limits
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {"user": "600/min", "anon": "60/min"},
    "DEFAULT_THROTTLE_CLASSES": [  # atomic (Redis): parallel requests cannot pass more than the rate
        "apps.core.api.throttling.UserRateThrottle",
        "apps.core.api.throttling.AnonRateThrottle",
    ],
}
# Failed API-key attempts per client address and window; past them the address gets 429s.
TIDEGRID_API_KEY_FAILURES_PER_SOURCE = env.int("TIDEGRID_API_KEY_FAILURES_PER_SOURCE", default=20)
TIDEGRID_API_KEY_FAILURE_WINDOW_S = env.int("TIDEGRID_API_KEY_FAILURE_WINDOW_S", default=600)

# Request bodies nested deeper than this are a 400 (apps/core/api/parsers.py).
TIDEGRID_API_JSON_MAX_DEPTH = env.int("TIDEGRID_API_JSON_MAX_DEPTH", default=32)

SPECTACULAR_SETTINGS = {
    "TITLE": "TideGrid API",
    "DESCRIPTION": "Compute scheduling platform: organizations, GPU capacity, bookings, billing and payments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # ReDoc's default theme names Montserrat/Roboto web fonts; the docs load nothing from outside (see
    # templates/drf_spectacular/redoc.html), so they use the system's fonts.
    "REDOC_UI_SETTINGS": {"theme": {"typography": {
        "fontFamily": "system-ui, 'Noto Sans CJK SC', sans-serif",
        "headings": {"fontFamily": "system-ui, 'Noto Sans CJK SC', sans-serif"}}}},
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "Authorization",
                           "description": 'Send "Api-Key <key>"; keys are created per organization in the portal.'},
        }
    },
    "SECURITY": [{"ApiKeyAuth": []}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.api.schema.error_responses",  # every operation documents the API's error body
    ],
    # Several models have a "kind" or "state" field with their own choices: name each enum explicitly.
    "ENUM_NAME_OVERRIDES": {
        "OrganizationKindEnum": "apps.tenancy.models.Organization.Kind",
        "WorkloadKindEnum": "apps.booking.models.Workload.Kind",
        "WorkloadStateEnum": "apps.booking.models.Workload.State",
        "InvitationStateEnum": "apps.tenancy.models.Invitation.State",
        "PaymentStateEnum": "apps.ledger.models.Payment.State",
        "RefundStateEnum": "apps.ledger.models.Refund.State",
        "LedgerTransactionKindEnum": "apps.ledger.models.LedgerTransaction.Kind",
        "VoucherProgramStateEnum": "apps.vouchers.models.Program.State",
        "VoucherApplicationStateEnum": "apps.vouchers.models.Application.State",
        "SizeClassEnum": "apps.tenancy.models.Organization.SizeClass",
        "FapiaoKindEnum": "apps.billing.models.FapiaoRequest.Kind",
    },
}

# --- Celery: one broker (Redis); queues per kind of work so placement never waits behind billing.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name) for name in ("placement", "telemetry", "billing", "default")]
CELERY_TASK_ROUTES = {
    "scheduling.*": {"queue": "placement"},
    "telemetry.*": {"queue": "telemetry"},
    "billing.*": {"queue": "billing"},
    "vouchers.*": {"queue": "billing"},
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "expire-overdue-invitations": {
        "task": "tenancy.invitations_expire",
        "schedule": crontab(minute="*/5"),
    },
    "placement-sweep": {
        "task": "scheduling.sweep",
        "schedule": 15.0,
    },
    "mark-silent-nodes-unreachable": {
        "task": "telemetry.nodes_mark_unreachable",
        "schedule": 15.0,
    },
    "telemetry-rollup": {
        "task": "telemetry.rollup",
        "schedule": 60.0,
    },
    "telemetry-prune": {
        "task": "telemetry.prune",
        "schedule": crontab(minute=7),
    },
    "billing-charge-usage": {
        "task": "billing.charge_usage",
        "schedule": 60.0,
    },
    "billing-close-month": {
        "task": "billing.close_month",
        "schedule": crontab(day_of_month=1, hour=0, minute=30),
    },
    "oversight-observe-device-states": {
        "task": "oversight.device_states_observe",
        "schedule": 60.0,
    },
    "oversight-rollup-recent-days": {
        "task": "oversight.recent_days_rollup",
        "schedule": crontab(minute=12),  # hourly: a day of 1,000 nodes takes minutes (docs/benchmarks.md)
    },
    "oversight-check-targets": {
        "task": "oversight.targets_check",
        "schedule": crontab(minute=25),
    },
    "verify-audit-chain": {
        "task": "audit.chain_verify",
        "schedule": crontab(minute=17),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / ".data" / "celerybeat-schedule")

TIDEGRID_INVITATION_TTL_DAYS = env.int("TIDEGRID_INVITATION_TTL_DAYS", default=7)

# --- node agents and telemetry
TIDEGRID_HEARTBEAT_INTERVAL_S = env.int("TIDEGRID_HEARTBEAT_INTERVAL_S", default=10)
TIDEGRID_NODE_UNREACHABLE_AFTER_S = env.int("TIDEGRID_NODE_UNREACHABLE_AFTER_S", default=45)
# Oversight (docs/oversight.md): a device-state span is extended while observations are at most this far
# apart; a raw sample stands for at most this many seconds (until the next one) in utilization and energy.
TIDEGRID_OVERSIGHT_OBSERVE_GAP_S = env.int("TIDEGRID_OVERSIGHT_OBSERVE_GAP_S", default=180)
TIDEGRID_OVERSIGHT_SAMPLE_MAX_GAP_S = env.int("TIDEGRID_OVERSIGHT_SAMPLE_MAX_GAP_S", default=60)
TIDEGRID_XID_QUARANTINE_THRESHOLD = env.int("TIDEGRID_XID_QUARANTINE_THRESHOLD", default=3)
# Agent-reported assignment times outside what the server saw (handed over .. report received) are
# clamped; a deviation beyond this tolerance (clock skew) also counts against the node.
TIDEGRID_AGENT_TIME_TOLERANCE_S = env.int("TIDEGRID_AGENT_TIME_TOLERANCE_S", default=5)
# A report's collected_at must lie within this window of the server's clock.
TIDEGRID_AGENT_CLOCK_WINDOW_S = env.int("TIDEGRID_AGENT_CLOCK_WINDOW_S", default=86400)
# How far one report's seq may advance past the last accepted one. Generous: an agent whose spool
# overflowed during a long outage skips the seqs it dropped (10 s reports: ~115 days).
TIDEGRID_AGENT_MAX_SEQ_STEP = env.int("TIDEGRID_AGENT_MAX_SEQ_STEP", default=1_000_000)
# Requests per node per minute on the agent API; failed credential/token attempts per source IP.
TIDEGRID_AGENT_RATE_PER_MIN = env.int("TIDEGRID_AGENT_RATE_PER_MIN", default=600)
TIDEGRID_AGENT_AUTH_FAILURES_PER_IP = env.int("TIDEGRID_AGENT_AUTH_FAILURES_PER_IP", default=20)
TIDEGRID_AGENT_AUTH_FAILURE_WINDOW_S = env.int("TIDEGRID_AGENT_AUTH_FAILURE_WINDOW_S", default=600)
TIDEGRID_TELEMETRY_RAW_RETENTION_HOURS = env.int("TIDEGRID_TELEMETRY_RAW_RETENTION_HOURS", default=26)
TIDEGRID_TELEMETRY_MINUTE_RETENTION_DAYS = env.int("TIDEGRID_TELEMETRY_MINUTE_RETENTION_DAYS", default=8)
TIDEGRID_TELEMETRY_HOUR_RETENTION_DAYS = env.int("TIDEGRID_TELEMETRY_HOUR_RETENTION_DAYS", default=400)
# Bearer token for Prometheus scraping /metrics; unset = /metrics answers 404 (not exposed).
TIDEGRID_METRICS_TOKEN = env.str("TIDEGRID_METRICS_TOKEN", default="")

# --- booking: quotas per organization (platform defaults; staff set others per organization in the
# admin), reservations, and automatic re-placement of work lost with its node
TIDEGRID_QUOTA_MAX_CARDS = env.int("TIDEGRID_QUOTA_MAX_CARDS", default=8)
TIDEGRID_QUOTA_MAX_SLICES = env.int("TIDEGRID_QUOTA_MAX_SLICES", default=32)
TIDEGRID_RESERVATION_MAX_HOURS = env.int("TIDEGRID_RESERVATION_MAX_HOURS", default=720)
TIDEGRID_RESERVATION_AHEAD_DAYS = env.int("TIDEGRID_RESERVATION_AHEAD_DAYS", default=90)
TIDEGRID_WORKLOAD_MAX_AUTO_RESTARTS = env.int("TIDEGRID_WORKLOAD_MAX_AUTO_RESTARTS", default=3)

# --- payments (apps/ledger): Stripe card top-ups. Without the keys the top-up page says how to set them.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Stripe requires Stripe.js from its own host; tests point this (and the API base) at localstripe.
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
# Set by `make run` (tidegrid/stripe_standin.py) when it starts localstripe instead of using Stripe: the pay
# page then takes a test card itself (localstripe's Stripe.js has no Payment Element). Never in production.
STRIPE_LOCAL_STAND_IN = env.bool("TIDEGRID_STRIPE_STAND_IN", default=False)
# Corporate bank transfers (对公转账): the platform's receiving account, shown on every wallet page.
TIDEGRID_BANK_ACCOUNT_NAME = env.str("TIDEGRID_BANK_ACCOUNT_NAME", default="")
TIDEGRID_BANK_NAME = env.str("TIDEGRID_BANK_NAME", default="")
TIDEGRID_BANK_ACCOUNT_NUMBER = env.str("TIDEGRID_BANK_ACCOUNT_NUMBER", default="")

# --- billing: how long on-demand work keeps running after the wallet runs out, and how early pages warn
TIDEGRID_BILLING_OUT_OF_FUNDS_GRACE_S = env.int("TIDEGRID_BILLING_OUT_OF_FUNDS_GRACE_S", default=900)
TIDEGRID_BILLING_RUNWAY_WARNING_S = env.int("TIDEGRID_BILLING_RUNWAY_WARNING_S", default=3600)
# A prepaid wallet must cover this many minutes of all pending and running work before more is booked or
# started (0: no check).
TIDEGRID_FUNDS_RUNWAY_MINUTES = env.int("TIDEGRID_FUNDS_RUNWAY_MINUTES", default=10)

# Behind a proxy (nginx, ingress) the client address is in X-Forwarded-For; rate limits need it.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TIDEGRID_TRUSTED_PROXY_COUNT", default=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("TIDEGRID_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

PERSONA_LABELS = {"customer": _("Customer"), "provider": _("Provider"), "government": _("Government")}

# Security e-mails (password changed, 2FA turned on/off, new e-mail address) to the account owner.
ACCOUNT_EMAIL_NOTIFICATIONS = True
