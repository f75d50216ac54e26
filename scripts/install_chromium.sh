#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright (pip `playwright`, in the dev extra);
# Playwright's own browser download is never used. Installs chromium when it is missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo_=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_="sudo"; else
    echo "error: chromium is missing and this user cannot install it: apt-get install -y chromium (as root)" >&2
    exit 1
  fi
fi
echo "installing chromium for the browser tests (about 40 s)..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo_ apt-get update -qq >/dev/null
$sudo_ apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null
