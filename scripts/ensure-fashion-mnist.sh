#!/usr/bin/env bash
# Make sure Fashion-MNIST is available to gankit: a local copy (cache or /usr/share/datasets), else
# Debian's dataset-fashion-mnist package when apt can be used as root, else gankit's verified download.
set -euo pipefail
gankit=${1:-gankit}

if "$gankit" data fashion-mnist --no-download >/dev/null; then
    "$gankit" data fashion-mnist --no-download
    exit 0
fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "Fashion-MNIST not found locally: installing Debian's dataset-fashion-mnist" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
    fi
    "$gankit" data fashion-mnist --no-download
    exit 0
fi
echo "Fashion-MNIST not found locally: downloading it (SHA-256 checked)" >&2
"$gankit" data fashion-mnist
