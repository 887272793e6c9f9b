#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright's own browser download is not used). Install it, with
# the CJK fonts the Chinese pages need, when it is missing and we may (root + apt). Otherwise say how.
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian chromium and fonts-noto-cjk for the browser tests..."
  apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-noto-cjk >/dev/null; }
else
  echo "Browser tests need Chromium: sudo apt-get install chromium fonts-noto-cjk (or set TIDEGRID_CHROMIUM)" >&2
fi
