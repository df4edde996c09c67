# The hotline in a container. Optional: the README's way needs only Python and make.
#   docker build -t ivr-hotline .
#   docker run --env-file ivr.env -p 8000:8000 -v ivr-spool:/app/instance ivr-hotline
# Migrations are applied at each start, before gunicorn (as the Procfile's release step).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/ivr-metrics

WORKDIR /app
RUN useradd --system --home-dir /app --shell /usr/sbin/nologin ivr

# Installed in place (editable), as `make run` does: the app finds prompts/ and instance/
# beside its package.
COPY pyproject.toml README.md constraints.txt wsgi.py gunicorn.conf.py ./
COPY ivr ./ivr
COPY prompts ./prompts
RUN pip install --no-cache-dir -c constraints.txt -e .
# The spool (and a development SQLite file) live here: mount a volume on it.
RUN mkdir -p instance && chown ivr:ivr instance
VOLUME ["/app/instance"]

USER ivr
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=3)"
CMD ["sh", "-c", "rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && ivr db upgrade && exec gunicorn -c gunicorn.conf.py wsgi:app"]
