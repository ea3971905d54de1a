#!/usr/bin/env bash
# The text GANs against the baselines they must be held against, at equal wall time:
#   benchmarks/text_models.sh [MINUTES] [OUT] [DATA]   (defaults: 30 minutes each, ./text-runs, words)
# arae, textgan and charlm train for MINUTES each, one after the other (each gets the whole machine); the 4-gram
# and unigram models are counted in seconds. Then benchmarks/text_sweep.py scores every model on 10,000 samples
# against the held-out items, swept over temperature where it has one, prints the table with the floor (as many
# real training items) and draws OUT/DATA/sweep.png. DATA: words (apt install wamerican) or tang-poems (apt install
# fortunes-zh). MODELS="arae charlm" trains only those; PYTHON: one with matplotlib. Results: OUT/DATA/*/eval/*.json.
set -euo pipefail
MINUTES=${1:-30}
OUT=${2:-text-runs}/${3:-words}
DATA=${3:-words}
GANKIT=${GANKIT:-gankit}
common=(--data "$DATA" --out "$OUT" --no-progress --epochs 100000)
for model in ${MODELS:-arae textgan charlm}; do
    extra=()
    # the 5-critic bf16 recipe was textgan's better use of 30 CPU minutes (docs/benchmarks.md)
    [ "$model" = textgan ] && extra=(--n-critic 5 --precision bf16)
    [ -d "$OUT/$model" ] || $GANKIT train "${common[@]}" --model "$model" "${extra[@]}" --time-limit "$MINUTES" --name "$model"
done
[ -d "$OUT/ngram" ] || $GANKIT train --data "$DATA" --out "$OUT" --no-progress --model ngram --name ngram
[ -d "$OUT/unigram" ] || $GANKIT train --data "$DATA" --out "$OUT" --no-progress --model ngram --set model.order=1 --name unigram
GANKIT="$GANKIT" ${PYTHON:-python3} "$(dirname "$0")/text_sweep.py" "$OUT" --picture "$OUT/sweep.png"
