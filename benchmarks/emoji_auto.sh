#!/usr/bin/env bash
# --model auto on `emoji` (3,308 colour pictures, 64 px, 9 Unicode groups) against the auto of before issue 45 (the
# recipe of grey 28-px clothes: cgan width 64, D width 32, batch 100, no augmentation), for MINUTES each, one run at a
# time; each scored by `gankit eval --n 2000` with the shipped emoji classifier (99 subgroups summed into the groups).
# One row per run (G steps, steps/s, FID, KID, precision, recall, memorisation, asked_class), then each
# configuration's mean and the ratio of today's auto to before's.
#   benchmarks/emoji_auto.sh [MINUTES] [SEEDS] [OUT]     default: 10 "0 1 2" runs/emoji-auto
# CONFIGS="auto before unlabelled" adds the unlabelled folder: emoji's training pictures without their group
# folders (made here once), auto's own clusters as classes, its samples scored against emoji's held-out pictures.
# CONFIGS="auto colour-aug" tries auto with DiffAugment's colour changes and cutout as well (auto's policy until
# 2026-12-07; translation alone was chosen on one seed at 10 and at 30 minutes).
# CONFIGS="auto subgroup" tries auto told each picture's Unicode subgroup as well as its group (a second condition).
# EXTRA="--set model.upsample=resize" is passed to every run (a candidate tried against both).
# SIDE_BY_SIDE=1 trains a seed's configurations at once, one core each (OMP_NUM_THREADS=1), as text_models.sh does:
# a 2-core machine then measures two configurations in the time of one, each on half the machine.
set -euo pipefail
MINUTES=${1:-10}
SEEDS=${2:-"0 1 2"}
OUT=${3:-runs/emoji-auto}
CONFIGS=${CONFIGS:-"auto before"}
EXTRA=${EXTRA:-}
PYTHON=${PYTHON:-python3}
GANKIT=${GANKIT:-gankit}
BEFORE="--model cgan --set model.width=64 --set model.d_width=32 --batch-size 100 --lr 0.001 --ema 0.999"
mkdir -p "$OUT"
EMOJI=$($GANKIT data emoji | sed -n 's/^emoji: .* in //p')  # "emoji: N training samples ... in FOLDER"
FOLDER="$OUT/emoji-unlabelled"
if [[ " $CONFIGS " == *" unlabelled "* && ! -d "$FOLDER" ]]; then
    mkdir -p "$FOLDER.part" && cp "$EMOJI"/train/*/*.png "$FOLDER.part" && mv "$FOLDER.part" "$FOLDER"
fi
train() {  # train CONFIG SEED
    local name="${MINUTES}min-$1-seed$2" args
    case $1 in
        auto) args="--model auto --data emoji" ;;
        before) args="$BEFORE --data emoji" ;;
        colour-aug) args="--model auto --data emoji --augment translation,color,cutout" ;;
        subgroup) args="--model auto --data emoji --set data.conditions=class,subgroup" ;;
        unlabelled) args="--model auto --data $FOLDER" ;;
        *) echo "unknown configuration $1" >&2; exit 2 ;;
    esac
    # shellcheck disable=SC2086
    $GANKIT train $args $EXTRA --time-limit "$MINUTES" --seed "$2" --out "$OUT" --name "$name" --no-progress \
        --no-report 2>&1 | grep -E "^done" | sed "s/^/$name: /"
}
score() {  # score CONFIG SEED
    local name="${MINUTES}min-$1-seed$2"
    $PYTHON - "$OUT/$name" <<'PY'
import json, subprocess, sys, tempfile
from pathlib import Path
import numpy as np
import gankit
from gankit.data import load_dataset
from gankit.metrics.evaluate import labels_like_data

run = Path(sys.argv[1])
meta = json.loads((run / "checkpoints" / "final" / "meta.json").read_text())
rows = [json.loads(line) for line in (run / "metrics.jsonl").open()]
seconds = max(row.get("seconds", 0) for row in rows)
with tempfile.TemporaryDirectory() as tmp:
    if "unlabelled" in run.name:  # its clusters are no classes to score by: drawn in the data's proportions
        pipe = gankit.Pipeline.from_run(run, device="cpu")
        labels = labels_like_data(load_dataset(pipe.config.data), 2000, 0, "cpu")
        np.save(f"{tmp}/s.npy", pipe.generate(pipe.latents(2000, 0), labels).numpy())
        args = ["--samples", f"{tmp}/s.npy", "--data", "emoji"]
    else:
        args = [str(run)]
    out = subprocess.run([sys.executable, "-m", "gankit", "eval", *args, "--n", "2000", "--json"], capture_output=True,
                         text=True, check=True)
m = json.loads(out.stdout)["metrics"]
(run.parent / f"{run.name}.json").write_text(json.dumps({"steps": meta["step"], "seconds": seconds, **m}))
PY
}
for seed in $SEEDS; do
    if [ "${SIDE_BY_SIDE:-0}" = 1 ]; then
        for config in $CONFIGS; do OMP_NUM_THREADS=1 train "$config" "$seed" & done
        wait
    else
        for config in $CONFIGS; do train "$config" "$seed"; done
    fi
    for config in $CONFIGS; do score "$config" "$seed"; done
done
$PYTHON - "$OUT" "$MINUTES" "$SEEDS" "$CONFIGS" <<'PY'
import json, statistics, sys
from pathlib import Path
out, minutes, seeds, configs = Path(sys.argv[1]), sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
keys = ("fid", "kid", "precision", "recall", "memorisation_rate", "asked_class")
means = {}
print(f"{'run':<32} {'steps':>6} {'steps/s':>8} " + " ".join(f"{k[:11]:>11}" for k in keys))
for config in configs:
    rows = [json.loads((out / f"{minutes}min-{config}-seed{seed}.json").read_text()) for seed in seeds]
    for seed, r in zip(seeds, rows):
        print(f"{f'{minutes}min-{config}-seed{seed}':<32} {r['steps']:>6} {r['steps'] / r['seconds']:>8.2f} "
              + " ".join(f"{r[k]:>11.4f}" if k in r else f"{'-':>11}" for k in keys))
    means[config] = {k: statistics.mean(r[k] for r in rows) for k in ("steps", "fid") + keys[1:] if k in rows[0]}
    print(f"{'mean ' + config:<32} {means[config]['steps']:>6.0f} {'':>8} "
          + " ".join(f"{means[config][k]:>11.4f}" if k in means[config] else f"{'-':>11}" for k in keys))
if "auto" in means and "before" in means:
    print(f"FID of today's auto / before's, mean of {len(seeds)} seeds at {minutes} minutes: "
          f"{means['auto']['fid'] / means['before']['fid']:.2f}")
if "auto" in means and "colour-aug" in means:
    print(f"FID of today's auto / with colour changes and cutout: {means['auto']['fid'] / means['colour-aug']['fid']:.2f}")
if "auto" in means and "subgroup" in means:
    print(f"FID with subgroups / auto: {means['subgroup']['fid'] / means['auto']['fid']:.2f}")
if "auto" in means and "unlabelled" in means:
    print(f"FID unlabelled / labelled: {means['unlabelled']['fid'] / means['auto']['fid']:.2f}")
PY
