# Vigie: one image for the API (`vigie serve`), the one-shot migration (`vigie migrate`)
# and the arq worker (`arq workers.main.WorkerSettings`). See docker-compose.yml.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
RUN python -m venv /opt/vigie && /opt/vigie/bin/pip install .

FROM python:3.11-slim
# The source tree comes first on the path: app/migrate.py finds alembic.ini and alembic/ next to
# the `app` package, and arq imports `workers.main` from it.
ENV PATH=/opt/vigie/bin:$PATH \
    PYTHONPATH=/srv/vigie \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000
RUN useradd --system --uid 10001 --home-dir /srv/vigie vigie \
    && mkdir -p /srv/vigie/var/archive && chown -R vigie /srv/vigie/var
COPY --from=build /opt/vigie /opt/vigie
WORKDIR /srv/vigie
COPY alembic.ini ./
COPY alembic ./alembic
COPY app ./app
COPY workers ./workers
USER vigie
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
CMD ["vigie", "serve"]
