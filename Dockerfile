# gridgeo API image: `docker compose up` (see docker-compose.yml) or
#   docker build -t gridgeo . && docker run -p 8000:8000 gridgeo
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The build context is filtered by .dockerignore (no .venv, caches, outputs or .git).
COPY . /app
RUN pip install /app \
    && useradd --system --create-home --home-dir /home/gridgeo gridgeo \
    && mkdir -p /data \
    && chown gridgeo /data

USER gridgeo
# Without a server, the API uses the embedded store in the /data volume.
ENV GRIDGEO_DATABASE_URL=sqlite:////data/gridgeo.sqlite
VOLUME ["/data"]
EXPOSE 8000

CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000"]
