#!/usr/bin/env bash
# The depth-gap study (results/study-depth-gap/PROTOCOL.md), as run. `bash study.sh STAGE`; every
# command resumes with --resume, so rerunning a stage after an interruption continues job by job.
# One torch thread per job; at most two stages run at a time on the 2-core CPU.
set -u
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
OUT=${STUDY_OUT:-/work/study-depth-gap}
# the code as committed at launch (a frozen worktree), not a working tree being edited
LIT=${STUDY_LIT:-/work/wt/study-run/.venv/bin/lit}
PY=${STUDY_PY:-/work/wt/study-run/.venv/bin/python}
T=${STUDY_TEACHER:-$OUT/teacher/teacher/best.pt}
COMMON=(--preset cpu --data fashion-mnist --teacher resnet56 --student resnet8 --teacher-ckpt "$T"
  --set data.limit=20000 --set data.augment=false --set train.teacher_cache=fp32 --device cpu
  --set train.lit.ir_epochs=8 --set train.lit.epochs=8 --set train.kd.epochs=16
  --set train.scratch.epochs=16 --out "$OUT" ${STUDY_EXTRA:-})
step() {  # name, then the command; appends the wall time to times.tsv
  local name=$1; shift
  local resume=(); [ -d "$OUT/$name" ] && resume=(--resume)
  local t0=$(date +%s)
  echo "== $(date -u +%FT%TZ) $name: $*" >> "$OUT/commands.log"
  "$LIT" "$@" --run-name "$name" "${resume[@]}" >> "$OUT/$name.log" 2>&1
  local rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" "$(date -u +%FT%TZ)" >> "$OUT/times.tsv"
  return $rc
}
selected() {  # the pilot's selected value for a method: the higher val_acc, ties to the smaller value
  "$PY" - "$OUT/pilot-$1/sweep.json" <<'PYEOF'
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
key = next(k for k in rows[0] if k.startswith("train."))
best = sorted(rows, key=lambda r: (-r["val_acc"], r[key]))[0]
print(f"{key}={best[key]}")
PYEOF
}
selected_kd_copied() {  # kd_copied's pilot is two one-point sweeps (lr = finetune_lr tied): the better one
  "$PY" - "$OUT"/pilot-kd_copied-0.05/sweep.json "$OUT"/pilot-kd_copied-0.1/sweep.json <<'PYEOF'
import json, sys
rows = [json.load(open(p))["rows"][0] for p in sys.argv[1:]]
best = sorted(rows, key=lambda r: (-r["val_acc"], r["train.kd_copied.lr"]))[0]
lr = best["train.kd_copied.lr"]
print(f"train.kd_copied.lr={lr} train.kd_copied.finetune_lr={lr}")
PYEOF
}
lit_lr() { selected lit | cut -d= -f2; }  # LIT's selected fine-tune lr, reused by its ablations
NEW=(--set train.depth_prune.epochs=16 --set train.dkd.epochs=16 --set train.dist.epochs=16
  --set train.kd_copied.ir_epochs=8 --set train.kd_copied.epochs=8)
case "$1" in
pilot-core)  # seed 0, validation only (no --test): the gate's scratch and the primary arms' lr
  step pilot-scratch sweep --method scratch --grid train.scratch.lr=0.05,0.1 "${COMMON[@]}"
  step pilot-kd sweep --method kd --grid train.kd.lr=0.05,0.1 "${COMMON[@]}"
  step pilot-lit sweep --method lit --grid train.lit.finetune_lr=0.02,0.1 "${COMMON[@]}" ;;
pilot-new)  # the alternatives' lr, seed 0, validation only (needs the baselines merged after 47d371e)
  step pilot-depth_prune sweep --method depth_prune --grid train.depth_prune.lr=0.05,0.1 "${COMMON[@]}" "${NEW[@]}"
  step pilot-dkd sweep --method dkd --grid train.dkd.lr=0.05,0.1 "${COMMON[@]}" "${NEW[@]}"
  step pilot-dist sweep --method dist --grid train.dist.lr=0.05,0.1 "${COMMON[@]}" "${NEW[@]}"
  # kd_copied: one rate for both phases (lr = finetune_lr), tied: a one-point sweep per rate (a
  # sweep reads only the validation split; `compress` would also score the test split)
  for lr in 0.05 0.1; do
    step pilot-kd_copied-$lr sweep --method kd_copied --grid train.kd_copied.lr=$lr "${COMMON[@]}" \
      "${NEW[@]}" --set train.kd_copied.finetune_lr=$lr
  done ;;
primary)  # LIT vs KD (and scratch), seeds 1-8, each at its selected lr
  step primary compare --seeds 1,2,3,4,5,6,7,8 --methods lit,kd,scratch "${COMMON[@]}" \
    --set "$(selected lit)" --set "$(selected kd)" --set "$(selected scratch)" ;;
alternatives)  # exploratory: seeds 1-3, each alternative at its pilot lr, the ablations at LIT's
  KC=(); for kv in $(selected_kd_copied); do KC+=(--set "$kv"); done
  L=$(lit_lr)
  ABL=(); for m in lit_single_ir ir_no_teacher_input; do
    ABL+=(--set train.$m.ir_epochs=8 --set train.$m.epochs=8 --set train.$m.finetune_lr=$L); done
  step alternatives compare --seeds 1,2,3 \
    --methods depth_prune,kd_copied,dkd,dist,lit_single_ir,ir_no_teacher_input "${COMMON[@]}" \
    "${NEW[@]}" --set "$(selected depth_prune)" --set "$(selected dkd)" --set "$(selected dist)" \
    "${KC[@]}" "${ABL[@]}" ;;
search)  # exploratory: one lit search (tau, then alpha, then beta; 4 trials per stage = 12), seed 0,
  # validation only, LIT at its selected fine-tune lr; then the best setting once on the test split
  step search search --method lit --trials 4 --seed 0 --final-test "${COMMON[@]}" --set "$(selected lit)" ;;
bench)  # speed beside accuracy: lit_bench on the primary run (teacher, students, pruned teachers)
  t0=$(date +%s)
  echo "== $(date -u +%FT%TZ) bench: python -m lit_bench --run $OUT/primary --device cpu --out $OUT/bench-primary" >> "$OUT/commands.log"
  "$PY" -m lit_bench --run "$OUT/primary" --device cpu --out "$OUT/bench-primary" >> "$OUT/bench.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\t%s\n' bench "$rc" "$(( $(date +%s) - t0 ))" "$(date -u +%FT%TZ)" >> "$OUT/times.tsv" ;;
inheritance)  # exploratory: how often each student repeats the teacher's wrong test label (analysis.py)
  A=${STUDY_ANALYSIS:-/work/wt/study-run/results/study-depth-gap/analysis.py}
  for run in primary alternatives; do
    t0=$(date +%s)
    echo "== $(date -u +%FT%TZ) inheritance-$run: $PY $A inheritance $T $OUT/$run --out $OUT/inheritance-$run.json" >> "$OUT/commands.log"
    "$PY" "$A" inheritance "$T" "$OUT/$run" --out "$OUT/inheritance-$run.json" >> "$OUT/inheritance.log" 2>&1
    printf '%s\t%s\t%s\t%s\n' "inheritance-$run" "$?" "$(( $(date +%s) - t0 ))" "$(date -u +%FT%TZ)" >> "$OUT/times.tsv"
  done ;;
esac
