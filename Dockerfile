# syntax=docker/dockerfile:1
# The OpenLines hub image: `docker build -t openlines .` (docker-compose.yml builds it too).
# See docs/deployment.md.

# 1. Front ends (widget bundle, operator console). Built from package.json when the repository
#    has one, into the packages' static/ folders so that `pip install .` ships them; without a
#    package.json this stage only passes the source tree through.
FROM node:20 AS frontends
WORKDIR /src
COPY . .
RUN if [ -f package.json ]; then \
        npm ci --no-audit --no-fund && npm run build && rm -rf node_modules; \
    fi

# 2. The Python package and its dependencies, in a virtualenv the runtime stage copies whole.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=frontends /src /src
RUN python -m venv /opt/openlines \
    && /opt/openlines/bin/pip install /src

# 3. Runtime: no compilers, no source tree, no root.
FROM python:3.11-slim
ENV PATH=/opt/openlines/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OPENLINES_DATA_DIR=/data
RUN groupadd --system --gid 10001 openlines \
    && useradd --system --uid 10001 --gid openlines --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin openlines \
    && mkdir /data \
    && chown openlines:openlines /data
COPY --from=build /opt/openlines /opt/openlines
USER openlines
WORKDIR /data
EXPOSE 8080
# /healthz answers 503 when MongoDB or Redis is unreachable; urlopen raises on it (exit 1).
# The port is the one in CMD: change both together.
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=8)"]
# Exec form: openlines is PID 1 and aiohttp handles SIGTERM (docker stop) as a graceful exit.
CMD ["openlines", "serve", "--host", "0.0.0.0", "--port", "8080"]
