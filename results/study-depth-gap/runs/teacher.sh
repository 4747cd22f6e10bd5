#!/usr/bin/env bash
# The depth-gap study's teacher (PROTOCOL.md "Teacher"), resumable: rerun this script after any interruption.
set -u
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
cd /work/study-depth-gap
LIT=/work/wt/study-run/.venv/bin/lit
resume=(); [ -d teacher ] && resume=(--resume)
echo "== $(date -u +%FT%TZ) teacher start ${resume[*]}" >> commands.log
t0=$(date +%s)
"$LIT" train-teacher --preset cpu --data fashion-mnist --teacher resnet56 --student resnet8 \
  --set data.limit=20000 --set train.teacher.epochs=40 --set 'train.teacher.milestones=[0.5, 0.75]' \
  --device cpu --out /work/study-depth-gap --run-name teacher "${resume[@]}" >> teacher.log 2>&1
rc=$?
printf 'teacher\t%s\t%s\t%s\n' "$rc" "$(( $(date +%s) - t0 ))" "$(date -u +%FT%TZ)" >> times.tsv
