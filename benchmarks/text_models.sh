#!/usr/bin/env bash
# The text GAN against the baselines it must be held against, at equal wall time, on Debian's word list:
#   benchmarks/text_models.sh [MINUTES] [OUT]     (defaults: 30 minutes each, runs in ./text-runs)
# textgan and charlm train for MINUTES each, one after the other (each gets the whole machine); the 4-gram
# and unigram models are counted in seconds. Every model is then scored by gankit eval on 10,000 samples
# against the held-out words (charlm at temperatures 0.5, 1.0 and 1.5), and the table is printed with the
# floor (as many real training words). Needs wamerican (apt install wamerican). Results: OUT/*/eval/*.json.
set -euo pipefail
MINUTES=${1:-30}
OUT=${2:-text-runs}
GANKIT=${GANKIT:-gankit}
common=(--data words --out "$OUT" --no-progress --epochs 100000)
[ -d "$OUT/textgan" ] || $GANKIT train "${common[@]}" --model textgan --time-limit "$MINUTES" --name textgan
[ -d "$OUT/charlm" ] || $GANKIT train "${common[@]}" --model charlm --time-limit "$MINUTES" --name charlm
[ -d "$OUT/ngram" ] || $GANKIT train --data words --out "$OUT" --no-progress --model ngram --name ngram
[ -d "$OUT/unigram" ] || $GANKIT train --data words --out "$OUT" --no-progress --model ngram --set model.order=1 --name unigram
for run in textgan ngram unigram; do
    $GANKIT eval "$OUT/$run" --n 10000 >/dev/null
done
for t in 0.5 1.0 1.5; do
    $GANKIT eval "$OUT/charlm" --n 10000 --temperature "$t" >/dev/null
done
python3 - "$OUT" <<'PY'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
keys = ["js_1", "js_2", "js_3", "js_4", "distinct_4", "unique", "novelty", "validity", "memorisation_rate"]
print("| model | minutes | " + " | ".join(keys) + " |")
print("|---" * (len(keys) + 2) + "|")
floor = None
for result in sorted(out.glob("*/eval/*.json")):
    r = json.loads(result.read_text())
    m = r["metrics"]
    meta = json.loads((result.parent.parent / "checkpoints" / "final" / "meta.json").read_text())
    label = result.parent.parent.name + (f" T={r['samples']['temperature']:g}" if "temperature" in r["samples"] else "")
    cells = [f"{m[k]:.3f}" if isinstance(m.get(k), float) else "-" for k in keys]
    print(f"| {label} | {meta['train_seconds'] / 60:.1f} | " + " | ".join(cells) + " |")
    floor = m
real = [f"{floor[k + '_floor']:.3f}" for k in keys[:4]] + [f"{floor['distinct_4_real']:.3f}", "1.000", "0.000", "-", "1.000"]
print("| real training words (floor) | - | " + " | ".join(real) + " |")
PY
