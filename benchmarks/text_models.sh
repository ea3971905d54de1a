#!/usr/bin/env bash
# The text GANs against the baselines they must be held against, at equal wall time:
#   benchmarks/text_models.sh [MINUTES] [OUT] [DATASETS]   (defaults: 30 minutes each, ./text-runs, words)
# arae, textgan and charlm train for MINUTES each on each dataset, one model after another (MODELS="arae charlm"
# picks); the 4-gram and unigram models are counted in seconds. With SIDE_BY_SIDE=1 a model trains on all the
# DATASETS at once, one core each (OMP_NUM_THREADS=1): a 2-core machine measures two datasets in one sitting under
# equal conditions for every model. Then benchmarks/text_sweep.py scores each run on 10,000 samples against the
# held-out items, swept over temperature where the model has one, prints the table with the floor (as many real
# training items) and draws OUT/DATA/sweep.png. DATASETS: words (apt install wamerican), tang-poems (apt install
# fortunes-zh). PYTHON: one with matplotlib; SAMPLES: how many to score. Results: OUT/DATA/*/eval/*.json.
set -euo pipefail
MINUTES=${1:-30}
ROOT=${2:-text-runs}
DATASETS=${3:-words}
GANKIT=${GANKIT:-gankit}

train() {  # model dataset
    local extra=()
    # the 5-critic bf16 recipe was textgan's better use of 30 CPU minutes (docs/benchmarks.md)
    [ "$1" = textgan ] && extra=(--n-critic 5 --precision bf16)
    [ -d "$ROOT/$2/$1" ] || $GANKIT train --data "$2" --out "$ROOT/$2" --no-progress --epochs 100000 --model "$1" \
        "${extra[@]}" --time-limit "$MINUTES" --name "$1"
}

for model in ${MODELS:-arae textgan charlm}; do
    for data in $DATASETS; do
        if [ "${SIDE_BY_SIDE:-0}" = 1 ]; then OMP_NUM_THREADS=1 train "$model" "$data" & else train "$model" "$data"; fi
    done
    wait
done
for data in $DATASETS; do
    out=$ROOT/$data
    [ -d "$out/ngram" ] || $GANKIT train --data "$data" --out "$out" --no-progress --model ngram --name ngram
    [ -d "$out/unigram" ] || $GANKIT train --data "$data" --out "$out" --no-progress --model ngram --set model.order=1 \
        --name unigram
    GANKIT="$GANKIT" ${PYTHON:-python3} "$(dirname "$0")/text_sweep.py" "$out" --n "${SAMPLES:-10000}" --picture "$out/sweep.png"
done
