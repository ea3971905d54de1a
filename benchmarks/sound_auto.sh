#!/usr/bin/env bash
# --model auto on spoken-digits: train for MINUTES on this machine, one run per seed, then score each with
# `gankit eval` (10,000 clips after inversion, the shipped classifier) and print one row per run.
#   benchmarks/sound_auto.sh [MINUTES] [SEEDS] [OUT]      default: 30 "0 1 2" runs/sound-auto
# Extra flags for every run go in $FLAGS (e.g. FLAGS="--model wavegan"). Reference rows (real clips, silence,
# noise): benchmarks/audio_sanity.py.
set -euo pipefail
MINUTES=${1:-30}
SEEDS=${2:-"0 1 2"}
OUT=${3:-runs/sound-auto}
GANKIT=${GANKIT:-gankit}
for seed in $SEEDS; do
    name="auto-${MINUTES}min-seed$seed"
    $GANKIT train --model auto --data spoken-digits --time-limit "$MINUTES" --seed "$seed" --out "$OUT" \
        --name "$name" --no-progress ${FLAGS:-} 2>&1 | grep -E "^(gankit: --model auto|done)"
    $GANKIT eval "$OUT/$name" --metrics fid,kid,is,pr,class_coverage --json > "$OUT/$name.json"
    python3 - "$OUT/$name.json" "$name" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
print(f"{sys.argv[2]}: " + ", ".join(f"{k} {m[k]:.4g}" for k in ("fid", "kid", "is", "precision", "recall",
                                                                  "class_coverage")))
PY
done
