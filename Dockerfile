# gridgeo API image: `docker compose up` (see docker-compose.yml) or
#   docker build -t gridgeo . && docker run -p 8000:8000 gridgeo
# The map pages' Leaflet, plugins, jQuery, Bootstrap and Font Awesome, from the npm registry
# (scripts/vendor.sh); they are served by the API itself, so the pages work offline.
FROM node:20-slim AS vendor
WORKDIR /src
COPY scripts/lib.sh scripts/vendor.sh scripts/
RUN scripts/vendor.sh

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The build context is filtered by .dockerignore (no .venv, caches, outputs or .git).
# Chromium prints the PDF report, Noto CJK draws Chinese in images and PDFs, and psql
# streams big layers out of PostGIS (gridgeo falls back to psycopg without it).
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-noto-cjk postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY . /app
COPY --from=vendor /src/api/static/vendor /app/api/static/vendor
# GRIDGEO_EXTRAS=cluster (docker-compose.yml's scheduler and workers) adds dask[distributed].
ARG GRIDGEO_EXTRAS=""
RUN pip install "/app${GRIDGEO_EXTRAS:+[$GRIDGEO_EXTRAS]}" \
    && useradd --system --create-home --home-dir /home/gridgeo gridgeo \
    && mkdir -p /data /province \
    && chown gridgeo /data /province

USER gridgeo
# Without a server, the API uses the embedded store in the /data volume.
ENV GRIDGEO_DATABASE_URL=sqlite:////data/gridgeo.sqlite
VOLUME ["/data"]
EXPOSE 8000

CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000"]
