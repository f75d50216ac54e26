# syntax=docker/dockerfile:1
# skyscript-vlm: lmdeploy `api_server` (TurboMind) with the OpenAI-compatible API the key
# information client speaks: InternVL2 from a weights volume, or a text model for script
# restorations and JSON correction (the same image, another model folder). Weights are never
# baked in or downloaded: mount the model folder (the chart copies it from a bucket and checks
# every file's digest first) and pass it as the first argument.
# Build from the repository root:
#   docker build -f docker/vlm.Dockerfile -t registry.example.com/skyscript/skyscript-vlm:0.1.0 .
# Run: docker run --gpus all -v /models/InternVL2-8B:/weights/model:ro -p 23333:23333 \
#        skyscript-vlm /weights/model --model-name internvl2 --server-port 23333
# Expected size: about 9 GB (torch and lmdeploy's CUDA libraries).

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# ---- build -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY docker/requirements/vlm.txt /tmp/requirements.txt
RUN pip install --no-deps --requirement /tmp/requirements.txt \
 && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} +

# ---- runtime -----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    PORT=23333 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
RUN groupadd --system --gid 10001 skyscript \
 && useradd --system --uid 10001 --gid skyscript --home-dir /tmp --no-create-home skyscript
COPY --from=build /opt/venv /opt/venv
COPY --chmod=0755 docker/vlm-serve.sh /usr/local/bin/vlm-serve
USER 10001
EXPOSE 23333
# lmdeploy answers /health once the model is loaded; PORT must match --server-port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=900s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '23333'), timeout=4)"]
ENTRYPOINT ["vlm-serve"]
CMD ["/weights/model", "--model-name", "internvl2", "--server-port", "23333"]
