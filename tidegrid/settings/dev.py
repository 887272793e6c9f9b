"""Local development (`make run`): debug on, a fixed dev secret, e-mails printed to the console."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production-0123456789")
os.environ.setdefault("DJANGO_DEBUG", "true")

os.environ.setdefault("TIDEGRID_BANK_ACCOUNT_NAME", "TideGrid Demo Technology Co., Ltd. (demo account)")
os.environ.setdefault("TIDEGRID_BANK_NAME", "Demo Bank, Shanghai Branch")
os.environ.setdefault("TIDEGRID_BANK_ACCOUNT_NUMBER", "6222 0000 0000 0000 000")

from .base import *  # noqa: F403

WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
STATIC_ROOT = None  # served from the app folders by WhiteNoise's finders; collectstatic is for production
