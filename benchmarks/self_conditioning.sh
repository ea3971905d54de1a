#!/usr/bin/env bash
# --model auto on an unlabelled folder of Fashion-MNIST's training images (flat PNGs, made here once): with its own
# k-means clusters as classes (self-conditioning, today's auto) and without (--clusters 0, unconditional dcgan), for
# MINUTES each, one run at a time; then 10,000 samples of each, drawn over the clusters in the data's proportions,
# scored against Fashion-MNIST's test images with the shipped classifier (the folder's own clusters are no classes
# to score by). One row per run, then the mean of each configuration.
#   benchmarks/self_conditioning.sh [MINUTES] [SEEDS] [OUT]     default: 10 "0 1 2" runs/self-conditioning
# CONFIGS_EXTRA=labels adds the labelled conditional auto on the named dataset (the same images, real labels).
set -euo pipefail
MINUTES=${1:-10}
SEEDS=${2:-"0 1 2"}
OUT=${3:-runs/self-conditioning}
CONFIGS_EXTRA=${CONFIGS_EXTRA:-}
PYTHON=${PYTHON:-python3}
GANKIT=${GANKIT:-gankit}
mkdir -p "$OUT"
FOLDER="$OUT/fashion-mnist-unlabelled"
if [ ! -d "$FOLDER" ]; then
    $PYTHON - "$FOLDER" <<'PY'
import sys
from pathlib import Path
from PIL import Image
from gankit.config import DataConfig
from gankit.data import load_dataset
folder = Path(sys.argv[1] + ".part")
folder.mkdir(parents=True)
for i, image in enumerate(load_dataset(DataConfig(name="fashion-mnist")).samples[:, 0].numpy()):
    Image.fromarray(image).save(folder / f"{i:05d}.png")
folder.rename(sys.argv[1])
PY
fi
for seed in $SEEDS; do
    for clusters in auto 0 $CONFIGS_EXTRA; do
        name="${MINUTES}min-clusters-$clusters-seed$seed"
        if [ "$clusters" = labels ]; then  # the same images with Fashion-MNIST's own labels: the bar to reach
            data=fashion-mnist flags=""
        else
            data="$FOLDER" flags=$([ "$clusters" = auto ] || echo "--clusters $clusters")
        fi
        $GANKIT train --model auto --data "$data" --time-limit "$MINUTES" --seed "$seed" --out "$OUT" --name "$name" \
            --no-progress $flags 2>&1 | grep -E "^done"
        $PYTHON - "$OUT/$name" <<'PY'
import json, subprocess, sys, tempfile
from pathlib import Path
import numpy as np
import gankit
from gankit.data import load_dataset
from gankit.metrics.evaluate import labels_like_data

run = Path(sys.argv[1])
pipe = gankit.Pipeline.from_run(run, device="cpu")
labels = labels_like_data(load_dataset(pipe.config.data), 10_000, 0, "cpu") if pipe.conditional else None
samples = pipe.generate(pipe.latents(10_000, 0), labels)
with tempfile.TemporaryDirectory() as tmp:
    np.save(f"{tmp}/s.npy", samples.numpy())
    out = subprocess.run([sys.executable, "-m", "gankit", "eval", "--samples", f"{tmp}/s.npy", "--data", "fashion-mnist",
                          "--metrics", "fid,kid,pr,class_coverage", "--json"], capture_output=True, text=True, check=True)
m = json.loads(out.stdout)["metrics"]
steps = json.loads((run / "checkpoints" / "final" / "meta.json").read_text())["step"]
(run.parent / f"{run.name}.json").write_text(json.dumps({"steps": steps, **m}))
print(f"{run.name}: steps {steps}, " + ", ".join(f"{k} {m[k]:.4g}" for k in ("fid", "kid", "precision", "recall",
                                                                             "class_coverage")))
PY
    done
done
$PYTHON - "$OUT" "$MINUTES" <<'PY'
import json, statistics, sys
from pathlib import Path
for clusters in ("auto", "0", "labels"):
    rows = [json.loads(p.read_text()) for p in sorted(Path(sys.argv[1]).glob(f"{sys.argv[2]}min-clusters-{clusters}-seed*.json"))]
    if rows:
        fid = [r["fid"] for r in rows]
        print(f"clusters {clusters}: {len(rows)} seeds, FID {statistics.mean(fid):.3f} +- "
              f"{statistics.stdev(fid) if len(fid) > 1 else 0:.3f}, precision {statistics.mean(r['precision'] for r in rows):.3f}, "
              f"recall {statistics.mean(r['recall'] for r in rows):.3f}, steps {statistics.mean(r['steps'] for r in rows):.0f}")
PY
