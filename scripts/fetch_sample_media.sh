#!/usr/bin/env bash
# Fetch the real sample media named in shared/NOTES.md (OpenCV's sample clips and photos from
# Debian's opencv-doc package) into a cache. Nothing third-party is committed to the repo.
#   usage: scripts/fetch_sample_media.sh [DEST]   (default: $SKYSCRIPT_SAMPLES or ~/.cache/skyscript/samples)
# Prints the folder that holds Megamind.avi, vtest.avi, messi5.jpg, basketball1.png, ...
set -euo pipefail
dest="${1:-${SKYSCRIPT_SAMPLES:-$HOME/.cache/skyscript/samples}}"
want=(Megamind.avi vtest.avi messi5.jpg text_motion.jpg text_defocus.jpg basketball1.png)
have_all=1
for f in "${want[@]}"; do [ -s "$dest/$f" ] || have_all=0; done
if [ "$have_all" = 1 ]; then echo "$dest"; exit 0; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download opencv-doc >/dev/null 2>&1; then
  # the package lists may be missing on a fresh machine
  (apt-get update -qq || sudo apt-get update -qq) >/dev/null 2>&1 || true
  apt-get download opencv-doc >/dev/null 2>&1 || { echo "error: could not download Debian's opencv-doc package (apt-get download opencv-doc)" >&2; exit 1; }
fi
dpkg -x opencv-doc_*.deb x
src="x/usr/share/doc/opencv-doc/examples/data"
mkdir -p "$dest"
for f in "${want[@]}"; do
  if [ -f "$src/$f.gz" ]; then gunzip -c "$src/$f.gz" > "$dest/$f"; else cp "$src/$f" "$dest/$f"; fi
done
echo "$dest"
