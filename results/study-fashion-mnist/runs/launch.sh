#!/usr/bin/env bash
# wait for the teacher, then run both chains side by side
cd /work/study
while [ ! -f teacher/summary.json ]; do sleep 15; done
date -u +%FT%TZ > chains.start
git -C /work/wt/study-run rev-parse HEAD > chains.commit
nohup bash study.sh primary > chain-primary.out 2>&1 &
nohup bash study.sh arms > chain-arms.out 2>&1 &
wait
date -u +%FT%TZ > chains.end
