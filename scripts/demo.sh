#!/usr/bin/env bash
# The main job on the embedded default: install, fetch the real sample media (OpenCV's clips
# from Debian's opencv-doc), run the whole pipeline on it as drama "sample", export the dataset,
# and print where everything is. Needs no services: SQLite + a local object store under
# $SKYSCRIPT_HOME (default ~/.skyscript).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh cv,postgres,dataset
samples="$(scripts/fetch_sample_media.sh)"
home="${SKYSCRIPT_HOME:-$HOME/.skyscript}"
export SKYSCRIPT_HOME="$home"
mkdir -p "$home/input"
ln -sf "$samples/Megamind.avi" "$home/input/Megamind.avi"
ln -sf "$samples/vtest.avi" "$home/input/vtest.avi"
rc=0
.venv/bin/skyscript run "$home/input" --drama sample || rc=$?
.venv/bin/skyscript export --drama sample --out "$home/export/sample" --frames
.venv/bin/skyscript status --drama sample
echo
echo "results:"
echo "  lineage database  $home/lineage.db"
echo "  object store      $home/store  (private/ raw media and unmasked frames, public/ masked frames)"
echo "  dataset export    $home/export/sample  (README.md is the dataset card; shooting_scripts.jsonl, pairs.jsonl)"
echo
first="$(ls "$home/export/sample/scripts/"*.fountain 2>/dev/null | head -n 1 || true)"
if [ -n "$first" ]; then
  echo "one shooting script ($(basename "$first"), Fountain; the JSON is in shooting_scripts.jsonl):"
  echo
  cat "$first"
fi
if [ -n "${SKYSCRIPT_LLM__URL:-}" ]; then
  echo "restorations (script, shooting script pairs): $(wc -l < "$home/export/sample/pairs.jsonl") in pairs.jsonl"
else
  echo "no restorations: point SKYSCRIPT_LLM__URL (and SKYSCRIPT_LLM__MODEL) at an OpenAI-compatible server"
  echo "(lmdeploy or vLLM serving a script model) and run again; SKYSCRIPT_PAIRS__RESTORATIONS sets how many (default 100)"
fi
exit $rc
