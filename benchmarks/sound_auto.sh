#!/usr/bin/env bash
# --model auto on a sound dataset (spoken-digits, or DATA=notes): train for MINUTES on this machine, one run per
# seed, then score each with `gankit eval` (10,000 clips after inversion, the shipped classifier; for notes the
# pitch classifier too) and print one row per run, then the yardsticks' rows (real training clips, silence, noise)
# of the last run's eval. More reference rows: benchmarks/audio_sanity.py.
#   [DATA=notes] benchmarks/sound_auto.sh [MINUTES] [SEEDS] [OUT]      default: 30 "0 1 2" runs/sound-auto
# Extra flags for every run go in $FLAGS (e.g. FLAGS="--model wavegan"); EVAL_N=2000 scores fewer clips (default
# 10,000; the shares, asked_class and the pitch scores, read the same, FID is higher at fewer).
set -euo pipefail
MINUTES=${1:-30}
SEEDS=${2:-"0 1 2"}
OUT=${3:-runs/sound-auto}
DATA=${DATA:-spoken-digits}
EVAL_N=${EVAL_N:-10000}
GANKIT=${GANKIT:-gankit}
for seed in $SEEDS; do
    name="auto-$DATA-${MINUTES}min-seed$seed"
    $GANKIT train --model auto --data "$DATA" --time-limit "$MINUTES" --seed "$seed" --out "$OUT" \
        --name "$name" --no-progress ${FLAGS:-} 2>&1 | grep -E "^(gankit: --model auto|done)"
    $GANKIT eval "$OUT/$name" --n "$EVAL_N" --metrics fid,kid,is,pr,class_coverage,asked_class,pitch --json \
        > "$OUT/$name.json"
    python3 - "$OUT/$name.json" "$name" "$seed" "${SEEDS##* }" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
keys = ("fid", "kid", "is", "precision", "recall", "class_coverage", "asked_class", "pitch_accuracy",
        "pitch_within_semitone", "clear_pitch", "pitch_distance")
row = lambda m: ", ".join(f"{k} {m[k]:.4g}" for k in keys if k in m)
print(f"{sys.argv[2]}: {row(result['metrics'])}")
if sys.argv[3] == sys.argv[4]:
    for name, stick in result.get("yardsticks", {}).items():
        print(f"  {name} ({stick['n']} clips): {row(stick['metrics'])}")
PY
done
