#!/bin/bash
# First start of the Compose stack's Postgres: the lineage and Airflow roles and databases.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set=lineage_pw="$SKYSCRIPT_DB_PASSWORD" --set=airflow_pw="$AIRFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE skyscript LOGIN PASSWORD :'lineage_pw';
CREATE DATABASE skyscript OWNER skyscript;
CREATE ROLE airflow LOGIN PASSWORD :'airflow_pw';
CREATE DATABASE airflow OWNER airflow;
SQL
