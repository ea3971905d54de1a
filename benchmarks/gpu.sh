#!/usr/bin/env bash
# GPU checks (run by the `device` tool on a lent GPU machine, from the repo root):
#   benchmarks/gpu.sh tests   the fast test suite with CUDA visible (the CLI tests then train on the GPU
#                             through --device auto), short classic/dcgan runs, resume on cuda (~6 min)
#   benchmarks/gpu.sh speed   benchmarks/throughput.py (tutorial loop vs gankit variants; dcgan at 64 px
#                             and sngan at 32 px) and benchmarks/evaluation.py on cuda (~6 min)
#   benchmarks/gpu.sh ttq     time to quality on cuda: batch 100 vs 1000, bf16 (~8 min)
#   benchmarks/gpu.sh rows    the speed rows docs/benchmarks.md still lacked: the tutorial's loop against the
#                             trainer (classic, dcgan; batch 100, which --model auto keeps, and 1000), phase
#                             shuffle's gather against the per-clip loop (~4 min)
#   benchmarks/gpu.sh auto    --model auto's time to quality on cuda at 2 and 5 minutes (~6 min; auto+w64:
#                             auto keeps the full width on GPUs, named because one run scores both points;
#                             on Fashion-MNIST's labels auto is cgan since 2026-11-28)
#   benchmarks/gpu.sh wavegan wavegan (its paper's recipe, width 16) on spoken-digits for 7 minutes on cuda, then
#                             2,000 clips scored with the shipped classifier (~9 min); the data travels in
#                             .gpu-data/spoken-digits (gankit data spoken-digits --out .gpu-data/spoken-digits)
#   benchmarks/gpu.sh filled  issue 31, is the GPU filled: cgan as --model auto trains it on a GPU (fp32, width 64),
#                             images/s at batch 100 eager, with CUDA graphs (--compile reduce-overhead) and at batch
#                             500 (~2.5 min; TORCH_LOGS=perf_hints says in throughput.log if graphs were skipped),
#                             then FID at 2 minutes of auto, auto + CUDA graphs and auto at batch 500 (~7 min)
# Installs gankit without dependencies first. Fashion-MNIST travels in .gpu-data/ (ignored by git).
# Results go to $OUT (default ./gpu-out).
set -uo pipefail
MODE=${1:-tests}
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -2
if [ -d .gpu-data/fashion-mnist ]; then
    mkdir -p /usr/share/datasets/fashion-mnist && cp .gpu-data/fashion-mnist/*.gz /usr/share/datasets/fashion-mnist/
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"; } | tee "$OUT/machine.txt"

if [ "$MODE" = speed ]; then
    tp() { timeout 150 python3 benchmarks/throughput.py --device cuda "$@" 2>>"$OUT/throughput.log" | tee -a "$OUT/throughput.md"; }
    tp --models classic --variants fp32,bf16,bf16+compile,bf16+b1000,bf16+compile+b1000 --repeats 3 --steps 300 --json "$OUT/throughput-classic.json"
    tp --models dcgan --variants fp32,bf16,bf16+compile+b1000 --repeats 3 --steps 300 --json "$OUT/throughput-dcgan.json"
    tp --models dcgan --image-size 64 --no-tutorial --variants fp32,bf16,bf16+compile+b512 --repeats 3 --steps 100 --json "$OUT/throughput-dcgan64.json"
    tp --models sngan --image-size 32 --no-tutorial --variants fp32,bf16,bf16+b512 --repeats 3 --steps 50 --json "$OUT/throughput-sngan32.json"
    timeout 90 python3 benchmarks/evaluation.py --device cuda 2>&1 | tail -3 | tee "$OUT/evaluation.txt"
    exit 0
fi
if [ "$MODE" = rows ]; then
    tp() { timeout "$1" python3 benchmarks/throughput.py --device cuda "${@:2}" 2>>"$OUT/throughput.log" | tee -a "$OUT/throughput.md"; }
    tp 110 --models classic --variants fp32,bf16,bf16+compile,bf16+b1000 --repeats 3 --steps 300 --json "$OUT/throughput-classic.json"
    tp 80 --models dcgan --variants fp32,bf16,bf16+b1000 --repeats 3 --steps 300 --json "$OUT/throughput-dcgan.json"
    timeout 45 python3 benchmarks/wavegan.py --widths 16 --precisions fp32,bf16 --steps 2 --repeats 3 --device cuda 2>&1 \
        | tail -8 | tee "$OUT/wavegan.txt"
    exit 0
fi
if [ "$MODE" = filled ]; then
    TORCH_LOGS=perf_hints timeout 150 python3 benchmarks/throughput.py --device cuda --models cgan --no-tutorial \
        --no-bare --variants fp32,fp32+graphs,fp32+b500 --repeats 2 --steps 200 --json "$OUT/throughput-cgan.json" \
        2>>"$OUT/throughput.log" | tee "$OUT/throughput.md"
    timeout 420 python3 benchmarks/time_to_quality.py --device cuda --at 2 --configs auto,auto+graphs,auto+b500 \
        --out "$OUT/ttq-filled" 2>&1 | tail -8
    exit 0
fi
if [ "$MODE" = auto ]; then
    timeout 370 python3 benchmarks/time_to_quality.py --device cuda --at 2,5 --configs auto+w64 --out "$OUT/ttq-auto" 2>&1 | tail -8
    exit 0
fi
if [ "$MODE" = wavegan ]; then
    runs=$(mktemp -d)
    timeout 460 gankit train --model wavegan --data spoken-digits --data-dir .gpu-data/spoken-digits --time-limit 7 \
        --device cuda --no-progress --no-report --out "$runs" --name wavegan 2>&1 | tail -3 | tee "$OUT/wavegan.txt"
    timeout 100 gankit eval "$runs/wavegan" --n 2000 --metrics fid,is,class_coverage 2>&1 | tail -6 | tee -a "$OUT/wavegan.txt"
    cp -r "$runs/wavegan/samples" "$OUT/wavegan-samples" 2>/dev/null
    exit 0
fi
if [ "$MODE" = ttq ]; then
    # time to quality on the GPU: batch 100 against batch 1000 (same and square-root learning rate), 90 s each
    timeout 560 python3 benchmarks/time_to_quality.py --device cuda --budget 1.5 --points 3 \
        --configs dcgan,dcgan+bf16,dcgan+bf16+b1000,dcgan+bf16+b1000+sqrt-lr --out "$OUT/ttq" 2>&1 | tail -12
    exit 0
fi

# the GPU machine has no hypothesis, tensorboard, selenium or chromium (dev-only tools): leave out their tests
timeout 300 python3 -m pytest -q -m "not slow" -p no:cacheprovider -x --ignore tests/test_hostile_inputs.py \
    -k "not tensorboard_scalars and not chromium" 2>&1 | tail -15 | tee "$OUT/pytest.txt"

runs=$(mktemp -d)
for model in classic dcgan; do
    start=$(date +%s%N)
    gankit train --model "$model" --epochs 2 --device cuda --no-progress --out "$runs" --name "$model" > "$OUT/train-$model.txt" 2>&1
    wall_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "$model: 2 epochs (1200 steps of batch 100) on cuda, ${wall_ms} ms wall including start-up" | tee -a "$OUT/summary.txt"
    grep -E "^(done|last step)" "$OUT/train-$model.txt" | tee -a "$OUT/summary.txt"
    cp "$runs/$model/samples/epoch_0002.png" "$OUT/$model-epoch2.png" 2>/dev/null
done
# resume on cuda: 60 steps straight vs 30 + resume + 30
gankit train --max-steps 60 --device cuda --no-progress --out "$runs" --name straight > /dev/null 2>&1
gankit train --max-steps 30 --device cuda --no-progress --out "$runs" --name split > /dev/null 2>&1
gankit train --resume "$runs/split" --max-steps 60 --no-progress > /dev/null 2>&1
python3 - "$runs" <<'PY' | tee -a "$OUT/summary.txt"
import sys
from safetensors.torch import load_file
a = load_file(f"{sys.argv[1]}/straight/checkpoints/final/weights.safetensors")
b = load_file(f"{sys.argv[1]}/split/checkpoints/final/weights.safetensors")
diff = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
print(f"cuda resume: max |straight - resumed| over all weights after 60 steps = {diff:.3g}")
PY
