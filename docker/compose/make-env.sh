#!/bin/sh
# Write docker/.env with fresh random credentials for docker/compose.yaml (mode 600, never
# committed). Refuses to overwrite an existing file: the database already holds those passwords.
set -eu
env_file="$(dirname "$0")/../.env"
if [ -e "$env_file" ]; then
  echo "error: $env_file exists; delete it only together with the postgres and minio volumes" >&2
  exit 1
fi
rand() { python3 -c "import secrets; print(secrets.token_urlsafe($1))"; }
umask 077
cat > "$env_file" <<ENV
SKYSCRIPT_IMAGE_REGISTRY=registry.local/skyscript
SKYSCRIPT_IMAGE_TAG=0.1.0
POSTGRES_PASSWORD=$(rand 24)
SKYSCRIPT_DB_PASSWORD=$(rand 24)
AIRFLOW_DB_PASSWORD=$(rand 24)
MINIO_ROOT_PASSWORD=$(rand 30)
SKYSCRIPT_STORE_SECRET_KEY=$(rand 30)
REVIEWER_SECRET_KEY=$(rand 30)
AIRFLOW_FERNET_KEY=$(python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())")
AIRFLOW_API_SECRET_KEY=$(rand 32)
AIRFLOW_JWT_SECRET=$(rand 32)
ENV
echo "wrote $env_file"
