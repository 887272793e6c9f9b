# syntax=docker/dockerfile:1
#
# TideGrid application image: one image for every process (web, migrate, worker, beat; later the
# simulated node agent). The process is picked by the command; the default is the web server.
# Build:  docker build -t tidegrid:latest .
# Layout: /app holds the code (owned by root, read-only for the app user), /opt/venv the dependencies.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build stage: compilers and headers stay here, only the virtualenv is copied on ---------------
FROM ${PYTHON_IMAGE} AS build

# pip compiles bytecode while installing, so the runtime never needs to write any.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Requirements first, so code changes reuse the cached dependency layer.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --upgrade pip wheel \
 && pip install -r /tmp/requirements.txt


# --- runtime stage -----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# libpq5: PostgreSQL client library; pango/harfbuzz + fonts-noto-cjk: WeasyPrint renders invoices and
# evidence exports with Chinese glyphs embedded; no curl: health checks use Python's urllib.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpq5 \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
      fontconfig fonts-noto-cjk \
 && fc-cache -f \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 tidegrid \
 && useradd --system --uid 10001 --gid tidegrid --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin tidegrid

# PYTHONDONTWRITEBYTECODE + XDG_CACHE_HOME=/tmp: the root filesystem is read-only in Kubernetes,
# only /tmp (an emptyDir) is writable. Bytecode is compiled once below instead.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_CACHE_HOME=/tmp/.cache \
    DJANGO_SETTINGS_MODULE=tidegrid.settings.production

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
COPY . /app

# Static files are collected into the image (STATIC_ROOT = /app/.data/staticfiles) and served by
# WhiteNoise. Production settings refuse to load without their required variables; these throwaway
# values exist only for this RUN step (nothing connects to them) and are not kept in the image.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@127.0.0.1:1/build \
    REDIS_URL=redis://127.0.0.1:1/0 \
    python manage.py collectstatic --noinput \
 && python -m compileall -q /app

USER 10001:10001
EXPOSE 8000

# The web process. docker-compose.yml and the Kubernetes manifests spell the same command out for
# each process; tests/deploy checks they stay identical.
CMD ["gunicorn", "tidegrid.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
