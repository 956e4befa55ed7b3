#!/usr/bin/env bash
# Train the demo models on a CUDA GPU in one call of the device tool (10 minutes a command), starting from
# the shipped weights, and leave weights-only files in $OUT (each under the 16 MiB a returned file may have).
#
#   here, once:   cd onnx-export && /usr/bin/python3 -m meddiff.stage --out stage        (~16 MB, git-ignored)
#   device run:   command "bash onnx-export/tools/gpu_train.sh 5 3", carry ["onnx-export/stage"]
#   back here:    /usr/bin/python3 -m meddiff.gpu_import --from <files_at> --out checkpoints/gpu
#                 then export / golden / evaluate as in onnx-export/README.md ("Convert ... export").
#
# Arguments: minutes for the base model, minutes for the ControlNet, config (default configs/demo-gpu.json:
# the shipped architecture, batch 32). PY overrides the interpreter (python3 there holds PyTorch 2.x).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_MIN=${1:-5}; SR_MIN=${2:-3}; CFG=${3:-configs/demo-gpu.json}
PY=${PY:-python3}; DEV=${DEVICE:-cuda}; WORKERS=${WORKERS:-12}
OUT=${OUT:-/tmp/meddiff-gpu-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
[ -f stage/data.json ] || { echo "gpu_train: stage/data.json missing: run meddiff.stage here and carry onnx-export/stage" >&2; exit 2; }
"$PY" -c 'import torch, sys; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
rm -rf ckpt-gpu && mkdir -p ckpt-gpu
"$PY" -m meddiff.train --config "$CFG" --data stage/data.json --out ckpt-gpu/base --minutes "$BASE_MIN" --device "$DEV" \
  --workers "$WORKERS" --threads 4 --init-weights weights/meddiff-fm-demo.pt --ckpt-minutes 2 2>&1 | tee "$OUT/train-base.log"
"$PY" -m meddiff.train --config "$CFG" --data stage/data.json --out ckpt-gpu/sr --controlnet ckpt-gpu/base/last.pt \
  --minutes "$SR_MIN" --device "$DEV" --workers "$WORKERS" --threads 4 --ckpt-minutes 2 2>&1 | tee "$OUT/train-sr.log"
"$PY" -m meddiff.gpu_import --pack ckpt-gpu --out "$OUT"
ls -la "$OUT"
