#!/usr/bin/env bash
# The main job on the embedded default: install, fetch the real sample media (OpenCV's clips
# from Debian's opencv-doc), run the whole pipeline on it as drama "sample", export the dataset,
# and print where everything is. Needs no services: SQLite + a local object store under
# $SKYSCRIPT_HOME (default ~/.skyscript).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh cv,postgres
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
echo "  dataset export    $home/export/sample"
exit $rc
