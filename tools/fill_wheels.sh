#!/usr/bin/env bash
# Fill tools/wheels/ (git-ignored) with the wheels the GPU machine of tools/gpu_check.sh lacks.
# Run here, where the registry answers; copy the checkout (with tools/wheels/) there.
#
# The GPU machine (issue 21 item 6): Python 3.12, its own torch 2.11 (cu130), onnxruntime 1.30
# (CPU build), timm and pytest — with what those install (numpy, torchvision, pillow, tqdm,
# packaging, protobuf, sympy, …) — nvcc 13, compute-sanitizer, ncu; no torch-pruning, no nox, no
# registry. tests/test_gpu_check_dry.py checks the three lists below against our packages'
# dependencies and that machine.
set -euo pipefail
cd "$(dirname "$0")"

MACHINE=(torch onnxruntime timm pytest)
# Exactly the pure-Python packages (py3-none-any) our three packages need and the machine lacks,
# whose own dependencies are all on the machine:
WHEELS=(torch-pruning)
# Not pure Python but built for any CPython 3 on x86-64 Linux (py3-none-manylinux), so a wheel
# downloaded here installs there: ninja, which torch.utils.cpp_extension needs to build the op.
PORTABLE=(ninja)
# Missing there too, but built per CPython version (cp312 wheels), so not carried; what the check
# does without them: matplotlib — the bench reports leave their plots out and say why (lit-core's
# summary.png is not written by the check's steps); onnx, onnxscript (it needs onnx) — ONNX export,
# used only by the ORT rows, which the check does not run (the machine's onnxruntime is a CPU build).
LEFT_OUT=(matplotlib onnx onnxscript)

mkdir -p wheels
python3 -m pip download --no-deps --only-binary=:all: -d wheels "${WHEELS[@]}"
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux2014_x86_64 -d wheels "${PORTABLE[@]}"
ls wheels
