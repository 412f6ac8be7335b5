# clusterbot: one image for every mode. The command chooses it:
#   http (default) · socket · teams · scheduler · migrate · backup --out FILE · restore FILE …
# Configured only by environment variables (README, Settings). Build: docker build -t clusterbot .
#
# BASE is any Debian bookworm image with or without Python: python:3.11-slim by default (its Python
# is /usr/local/bin/python3.11); where no image registry can be reached, scripts/container-check
# builds from a debootstrapped bookworm imported locally, and Debian's own python3 (3.11) is installed.
# PIP_ARGS: extra pip options (a mirror: --index-url …). PIP_CERT: a CA bundle for a machine whose HTTPS goes
# through an inspecting proxy (scripts/container-check mounts the host's); pip and its build subprocess read it.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ARG PIP_ARGS=""
ARG PIP_CERT
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# Debian's python3 only where the base has no Python (the debootstrapped base); python:3.11-slim has one.
RUN if ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
      && rm -rf /var/lib/apt/lists/*; fi
WORKDIR /src
COPY pyproject.toml README.md ./
COPY analysis analysis
COPY bot bot
COPY commands commands
COPY reports reports
COPY storage storage
# Every dependency is a binary wheel (psycopg[binary], cryptography, pillow, matplotlib): no compiler here either.
RUN python3 -m venv /opt/clusterbot \
    && /opt/clusterbot/bin/pip install ${PIP_ARGS} . \
    && /opt/clusterbot/bin/python -c "import bot, commands, storage, reports, analysis"

FROM ${BASE}
# python3 where the base has none; postgresql-client (15, as compose's server) for `backup` and `restore`.
# No compilers, no pip cache, no apt lists.
RUN apt-get update \
    && if ! command -v python3 >/dev/null; then apt-get install -y --no-install-recommends python3; fi \
    && apt-get install -y --no-install-recommends postgresql-client ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 clusterbot \
    && useradd --system --uid 10001 --gid clusterbot --home-dir /data --create-home --shell /usr/sbin/nologin clusterbot
COPY --from=build /opt/clusterbot /opt/clusterbot
ENV PATH=/opt/clusterbot/bin:$PATH \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    HOST=0.0.0.0 PORT=3000
# The working folder is the volume-friendly home: SQLite's default file and any .env live here.
WORKDIR /data
USER 10001:10001
EXPOSE 3000
# /healthz answers 200 when the database answers (bot/server.py; the Teams server has the same route).
# The scheduler serves nothing: compose turns this check off for it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["http"]
