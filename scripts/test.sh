#!/usr/bin/env bash
# The whole test suite: installs everything the tests need into .venv, fetches the sample
# media, makes sure Postgres and Redis answer on loopback, then runs the fast unit tests and
# the integration tests against the real services (Postgres, an S3 server the tests start,
# Airflow, Redis/Celery).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh cv,postgres,gx,airflow,detect,dev
scripts/fetch_sample_media.sh >/dev/null
scripts/services.sh
scripts/install_chromium.sh
exec .venv/bin/python -m pytest tests/unit tests/integration tests/faults "$@"
