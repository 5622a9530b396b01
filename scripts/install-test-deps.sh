#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust: Debian's headless Chromium, which the HTML
# report tests render pages in. Idempotent; needs root (or sudo) and the Debian package mirror.
set -euo pipefail
if command -v chromium > /dev/null 2>&1; then
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
echo "installing chromium (for the HTML report tests)..." >&2
$sudo apt-get update -q > /dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium > /dev/null
