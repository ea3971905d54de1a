#!/usr/bin/env bash
# Make sure programs some tests need are here, installing their Debian packages with apt when run as root.
# usage: ensure-apt.sh "what needs them" COMMAND:PACKAGE...  (or /ABSOLUTE/FILE:PACKAGE for a package of data)
set -euo pipefail
why=$1
shift
missing=()
for pair in "$@"; do
    need=${pair%%:*}
    if [[ $need == /* ]]; then
        [ -e "$need" ] || missing+=("${pair#*:}")
    else
        command -v "$need" >/dev/null || missing+=("${pair#*:}")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's ${missing[*]} (for $why)" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    exit 0
fi
echo "${missing[*]} missing and apt cannot be used here: install them for $why" >&2
exit 1
