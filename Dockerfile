# The Flow Forge admin image: the web app (default command) and, with another
# command, the workers and the migration Job (see docs/deploy.md).
#
#   docker build -t flowforge-admin:latest .
FROM python:3.11-slim

# FLOWFORGE_VAR_DIR (local files, only used with SQLite) and the collected
# static files are kept apart, so that changing one at run time keeps the other.
# DJANGO_STATIC_MANIFEST: hashed, compressed static files, for the collectstatic
# below and for the running app, which reads the manifest collectstatic wrote.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLOWFORGE_VAR_DIR=/app/var \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    DJANGO_STATIC_MANIFEST=1

WORKDIR /app

# A fixed numeric id, so that Kubernetes' runAsNonRoot can check it.
RUN groupadd --system --gid 10001 flowforge \
    && useradd --system --uid 10001 --gid flowforge --home-dir /app --no-create-home flowforge

# Dependencies first: this layer is reused while only the code changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Settings refuse to start without a secret key when DEBUG is off;
# collectstatic signs nothing, so a throw-away one is enough for this step.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown flowforge:flowforge /app/var

USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "project.wsgi"]
