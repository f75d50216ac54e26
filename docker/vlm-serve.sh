#!/bin/sh
# Start lmdeploy's OpenAI-compatible api_server on a model folder. The API key comes from the
# environment (a Kubernetes Secret or a Compose secret file), never from the command line that
# the image or a manifest carries:
#   LMDEPLOY_API_KEY       key clients must send (Authorization: Bearer KEY); unset: no key
#   LMDEPLOY_API_KEY_FILE  or a file holding it
# Arguments: MODEL_DIR [lmdeploy serve api_server flags...]
set -eu
if [ "$#" -lt 1 ]; then
  echo "usage: vlm-serve MODEL_DIR [lmdeploy serve api_server flags]" >&2
  exit 2
fi
model="$1"
shift
if [ ! -f "$model/config.json" ]; then
  echo "error: $model has no config.json: mount the model folder there (weights are never downloaded)" >&2
  exit 2
fi
key="${LMDEPLOY_API_KEY:-}"
if [ -z "$key" ] && [ -n "${LMDEPLOY_API_KEY_FILE:-}" ]; then
  key="$(cat "$LMDEPLOY_API_KEY_FILE")"
fi
if [ -n "$key" ]; then
  set -- "$@" --api-keys "$key"
fi
exec lmdeploy serve api_server "$model" --server-name 0.0.0.0 "$@"
