#!/usr/bin/env bash
# Make sure headless Chromium and its WebDriver are here for the report's browser test: Debian's
# chromium and chromium-driver, installed with apt when run as root.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "Chromium not found: installing Debian's chromium and chromium-driver (for the report's browser test)" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    fi
    exit 0
fi
echo "Chromium is missing and apt cannot be used here: install chromium and chromedriver for the browser test" >&2
exit 1
