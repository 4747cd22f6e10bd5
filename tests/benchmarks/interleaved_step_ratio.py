"""LIT/KD/scratch step times measured interleaved (round-robin), so background load hits all alike.

Complements ``test_step_benchmark.py`` (pytest-benchmark runs the cases one after another, which
a shared, busy machine biases). Usage::

    python tests/benchmarks/interleaved_step_ratio.py --rounds 6 --out results/step_benchmark/interleaved.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from lit_core import TrainConfig, make_train_step
from lit_models import create_model

METHODS = ("lit", "kd", "scratch")


def main() -> None:
    """Time one training step per method per round, round-robin; print and save the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    cfg = TrainConfig(device=args.device, channels_last=True, progress=False)
    steps = {}
    for m in METHODS:
        torch.manual_seed(0)
        steps[m] = make_train_step(create_model("resnet20"), create_model("resnet110"), m, cfg)
    x, y = torch.randn(args.batch_size, 3, 32, 32), torch.randint(0, 10, (args.batch_size,))
    device = steps["lit"].device

    def timed(m: str) -> float:
        t0 = time.perf_counter()
        steps[m](x, y)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    for m in METHODS:  # warm-up
        timed(m)
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(args.rounds):
        for m in METHODS:
            times[m].append(timed(m))
    ratios = [a / b for a, b in zip(times["lit"], times["kd"], strict=True)]
    summary = {
        "device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "batch_size": args.batch_size, "teacher": "resnet110", "student": "resnet20",
        "times_s": times, "median_s": {m: statistics.median(v) for m, v in times.items()},
        "lit_over_kd_per_round": ratios, "lit_over_kd_median": statistics.median(ratios),
    }
    print(json.dumps({k: summary[k] for k in ("median_s", "lit_over_kd_median")}, indent=2))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
