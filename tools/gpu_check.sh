#!/usr/bin/env bash
# The prepared GPU check (issue 21): ≤ 8 minutes on a bare GPU machine with its own Python 3.12,
# torch (cu130), onnxruntime (CPU build), nvcc, compute-sanitizer and pytest, and no registry.
#
#   tools/fill_wheels.sh                 # here (with a registry): the missing pure-Python wheels
#   tools/gpu_check.sh OUT_DIR           # there: every step, results in OUT_DIR (≤ 8 files)
#   tools/gpu_check.sh --dry OUT_DIR     # CPU dry mode (CI): every step's command parsed by bash,
#                                        # the bench steps planned (lit-bench --dry-run), nothing
#                                        # else run; the same two outputs
#
# Each step has its own timeout (the limit column of STEPS; their sum stays within 480 s), so one
# hang cannot eat the budget. The limits are set before any GPU run (lit-bench's dry run estimates
# the bench steps); the first run's summary.md is what to adjust them with. OUT_DIR gets
# summary.md (one line per step: status, seconds, limit) and gpu_check.tar.gz (every step's log, the bench reports, the training-step timings), nothing
# else: 2 files, within the 8 allowed. The short bench is split in two steps (the compile rows
# apart: an Inductor compile per row) so a slow compile cannot cost the other rows.
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
# the short bench: teacher, student, a pruned teacher (l1-A); few calls (no p99 from 200 runs)
SHORT=(--device cuda --models resnet110,resnet20 --runs 200 --throughput-runs 5 --warmup 3 --overwrite)
BENCH=(-m lit_bench "${SHORT[@]}" --variants dense,l1-A --backends eager_folded,cuda_graphs,fused,fused_graphs
       --dtypes fp32,bf16 --batch-sizes 1,256,4096 --out "$WORK/bench")
COMPILE=(-m lit_bench "${SHORT[@]}" --variants dense --backends compile --dtypes bf16 --batch-sizes 1,4096
         --out "$WORK/bench-compile")
STEPS_T=(tools/step_timing.py --device cuda --batch 128 --precision bf16 --methods lit,kd
         --compile off,teacher,step --steps 20 --warmup 3 --out "$WORK/train_steps.jsonl")

# name | timeout (s) | command
STEPS=(
  "env|10|nvidia-smi; nvidia-smi -q -d CLOCK; $PY -c 'import torch, sys; print(sys.version, torch.__version__, torch.version.cuda, torch.cuda.is_available())'; $PY -m pip list 2>/dev/null | grep -i -E 'torch|onnx|numpy|pytest|timm'; nvcc --version"
  "install|25|$PY -m pip install -q --no-index --no-deps --no-build-isolation tools/wheels/*.whl packages/lit-models packages/lit-core packages/lit-bench"
  "build-op|90|$PY -c 'from lit_bench import ops; from lit_bench.backends.fused import has_kernel_for; assert ops.is_available(), \"op did not build\"; assert has_kernel_for(\"cuda\"), \"no CUDA kernel registered\"; print(\"CUDA kernel registered\")'"
  "pytest-cuda|80|$PY -m pytest -q -x -m cuda --require-cuda -p no:cacheprovider tests"
  "sanitizers|35|$PY tests/ops/sanitize.py --all --tools memcheck,racecheck"
  "bench|100|$PY ${BENCH[*]}"
  "bench-compile|60|$PY ${COMPILE[*]}"
  "train-steps|80|$PY ${STEPS_T[*]}"
)

echo "# GPU check $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')" >"$SUMMARY"
[ "$DRY" = 1 ] && echo "dry mode: commands parsed and listed, not run; the bench steps planned (--dry-run)" >>"$SUMMARY"
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
    # parse every command; the bench steps also plan for real (lit-bench --dry-run: seconds, no GPU)
    status=planned
    if ! bash -n -c "$cmd" 2>>"$log"; then status="BAD COMMAND"; failed=1
    elif [[ "$name" == bench* ]] && ! timeout "$limit" bash -c "$cmd --dry-run" >>"$log" 2>&1; then
      status="BAD PLAN"; failed=1
    fi
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
kept=(logs)
for extra in bench bench-compile train_steps.jsonl; do [ -e "$WORK/$extra" ] && kept+=("$extra"); done
tar -czf "$OUT/gpu_check.tar.gz" -C "$WORK" "${kept[@]}"
cp "$SUMMARY" "$OUT/summary.md"
cat "$OUT/summary.md"
rm -rf "$WORK"
exit $failed
