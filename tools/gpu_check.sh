#!/usr/bin/env bash
# The prepared GPU check (issue 21): ≤ 8 minutes on a bare GPU machine with its own Python 3.12,
# torch (cu130), onnxruntime (CPU build), nvcc, compute-sanitizer and pytest, and no registry.
#
#   tools/fill_wheels.sh                 # here (with a registry): the missing pure-Python wheels
#   tools/gpu_check.sh OUT_DIR           # there: every step, results in OUT_DIR (≤ 8 files)
#   tools/gpu_check.sh --dry OUT_DIR     # CPU dry mode (CI): every step's plan, same outputs
#
# Not yet here: the LIT/KD training-step timing (issue 21 item 6, last step).
# Each step has its own timeout (STEP_TIMEOUTS below; their sum stays under 480 s), so one hang
# cannot eat the budget. OUT_DIR gets summary.md (one line per step: status, seconds) and
# gpu_check.tar.gz (every step's log, the bench's results), nothing else.
set -uo pipefail
cd "$(dirname "$0")/.."

DRY=0
if [ "${1:-}" = "--dry" ]; then DRY=1; shift; fi
OUT="${1:?usage: tools/gpu_check.sh [--dry] OUT_DIR}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
LOGS="$WORK/logs"; mkdir -p "$LOGS"
export PYTHONUNBUFFERED=1 LIT_REQUIRE_CUDA=1 MAX_JOBS="${MAX_JOBS:-8}" TORCH_CUDA_ARCH_LIST="9.0"
export LIT_EXT_DIR="${LIT_EXT_DIR:-$WORK/ext}" CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
SUMMARY="$WORK/summary.md"
BENCH=(-m lit_bench --device cuda --models resnet110,resnet20 --variants dense,l1-A
       --backends eager_folded,cuda_graphs,compile,fused,fused_graphs --dtypes fp32,bf16
       --batch-sizes 1,256,4096 --out "$WORK/bench" --overwrite)

# name | timeout (s) | command
STEPS=(
  "env|20|nvidia-smi; nvidia-smi -q -d CLOCK; $PY -c 'import torch, sys; print(sys.version, torch.__version__, torch.version.cuda, torch.cuda.is_available())'; $PY -m pip list 2>/dev/null | grep -i -E 'torch|onnx|numpy|pytest|timm'; nvcc --version"
  "install|40|$PY -m pip install -q --no-index --no-deps --no-build-isolation tools/wheels/*.whl packages/lit-models packages/lit-core packages/lit-bench"
  "build-op|120|$PY -c 'from lit_bench import ops; from lit_bench.backends.fused import has_kernel_for; assert ops.is_available(), \"op did not build\"; assert has_kernel_for(\"cuda\"), \"no CUDA kernel registered\"; print(\"CUDA kernel registered\")'"
  "pytest-cuda|120|$PY -m pytest -q -x -m cuda --require-cuda -p no:cacheprovider tests"
  "sanitizers|60|$PY tests/ops/sanitize.py --all --tools memcheck,racecheck"
  "bench|90|$PY ${BENCH[*]}"
)

echo "# GPU check $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')" >"$SUMMARY"
[ "$DRY" = 1 ] && echo "dry mode: commands listed, not run" >>"$SUMMARY"
echo "| step | status | seconds | limit |" >>"$SUMMARY"
echo "| --- | --- | --- | --- |" >>"$SUMMARY"
total=0; failed=0
for step in "${STEPS[@]}"; do
  IFS='|' read -r name limit cmd <<<"$step"
  total=$((total + limit))
  log="$LOGS/$name.log"
  echo "\$ $cmd" >"$log"
  start=$(date +%s)
  if [ "$DRY" = 1 ]; then
    status=planned
  else
    timeout --kill-after=5 "$limit" bash -c "$cmd" >>"$log" 2>&1
    rc=$?
    case $rc in 0) status=ok ;; 124|137) status="TIMEOUT"; failed=1 ;; *) status="FAILED ($rc)"; failed=1 ;; esac
  fi
  secs=$(( $(date +%s) - start ))
  echo "| $name | $status | $secs | $limit |" >>"$SUMMARY"
  echo "gpu_check: $name: $status (${secs}s of ${limit}s)"
done
echo "" >>"$SUMMARY"; echo "step limits total ${total} s" >>"$SUMMARY"
if [ "$total" -gt 480 ]; then echo "gpu_check: step limits total ${total} s > 480 s" >&2; failed=1; fi
tar -czf "$OUT/gpu_check.tar.gz" -C "$WORK" logs $( [ -d "$WORK/bench" ] && echo bench )
cp "$SUMMARY" "$OUT/summary.md"
cat "$OUT/summary.md"
rm -rf "$WORK"
exit $failed
