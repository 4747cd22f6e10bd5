#!/usr/bin/env bash
# Fill tools/wheels/ (git-ignored) with exactly the pure-Python wheels the GPU machine lacks
# (it has torch, numpy, onnx, onnxruntime, matplotlib, scikit-learn, tqdm, torchmetrics, pytest):
# torch-pruning and onnxscript's own pins are the gaps. Run here, where the registry answers.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p wheels
python3 -m pip download --no-deps --only-binary=:all: -d wheels "torch-pruning>=1.4"
ls wheels
