"""The test suite: real PostgreSQL and Redis (embedded by default), fast hashing, mail kept in memory."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-key-0123456789-0123456789-0123456789")

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
WHITENOISE_USE_FINDERS = True
CACHES["default"]["KEY_PREFIX"] = f"tidegrid-test-{os.getpid()}"  # noqa: F405
# The throttles stay installed (DRF binds them to the views at import) but have no rates: tests that check
# the limits set REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] with the settings fixture.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {}  # noqa: F405
ALLOWED_HOSTS = ["*"]
STATIC_ROOT = None
# Test customers start with empty wallets: the funds runway is checked by the tests that turn it on
# (tests/security/test_booking_attacks.py, tests/billing/test_funds_runway.py).
TIDEGRID_FUNDS_RUNWAY_MINUTES = 0
TIDEGRID_LOGIN_DELAY_BASE_S = 0.05  # the progressive login delay, kept short for the suite
TIDEGRID_LOGIN_DELAY_MAX_S = 0.2
