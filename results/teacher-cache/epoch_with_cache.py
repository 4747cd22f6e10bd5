"""LIT and KD epoch time with and without the teacher cache, in one run (prototype hook applied).

    OMP_NUM_THREADS=1 python results/teacher-cache/epoch_with_cache.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone

import torch

from lit_core import TrainConfig, fit
from lit_core.data import BatchLoader, load_data
from lit_core.method.lit import make_plan
from lit_core.training.teacher_cache import TeacherCache
from lit_models import create_model

torch.set_num_threads(1)
data = load_data("fashion-mnist", limit=6000, quiet=True)


def model(name, seed):
    torch.manual_seed(seed)
    return create_model(name, num_classes=10, in_chans=1)


teacher = model("resnet20", 0).eval()
out = {"data": data.describe(), "rows": []}
t0 = time.perf_counter()
lit_cache = TeacherCache.build(teacher, data.train, plan=make_plan(teacher, model("resnet8", 1)),
                               dtype=sys.argv[1] if len(sys.argv) > 1 else "fp32")
out["cache_build_s"] = time.perf_counter() - t0
out["cache_bytes"] = lit_cache.nbytes
cfg = TrainConfig(epochs=1, ir_epochs=1, batch_size=64, device="cpu", progress=False, seed=1)
for method in ("lit", "kd"):
    weights = {}
    for cached in (False, True):
        train = BatchLoader(data.train, 64, shuffle=True, seed=1, with_indices=cached)
        val = BatchLoader(data.val, 500, shuffle=False)
        student = model("resnet8", 1)
        with tempfile.TemporaryDirectory() as d:
            r = fit(student, teacher, train, val, method=method, config=cfg, run_dir=d,
                    teacher_cache=lit_cache if cached else None)
        weights[cached] = student.state_dict()
        for h in r.history:
            out["rows"].append({"method": method, "cache": cached, "phase": h["phase"],
                                "epoch_time_s": h["epoch_time_s"], "val_acc": h["val_acc"]})
            print(out["rows"][-1], flush=True)
    diff = max((weights[True][k].float() - weights[False][k].float()).abs().max().item()
               for k in weights[True])
    out[f"{method}_max_weight_diff"] = diff
    print(method, "max |Δw| cached vs uncached:", diff, flush=True)
out["meta"] = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "torch": torch.__version__, "threads": 1, "loadavg": os.getloadavg()}
print(json.dumps(out, indent=1))
