"""Measure how hard the offline text task is: train VDCNNs from scratch on `fortunes`.

Run: OMP_NUM_THREADS=N nice python results/text-cpu/measure_scratch.py MODEL EPOCHS [key=value ...]
(key=value: seq_len, limit, widths=a,b,c,d, hidden, shortcut=0|1, lr, batch_size, epochs). Prints per-epoch
time and accuracies, then the test accuracy of the best-val weights.
"""

from __future__ import annotations

import sys
import tempfile
import time

import torch

import lit_models
from lit_core.training.config import TrainConfig
from lit_core.data import BatchLoader, load_data
from lit_core.training.trainer import fit


def main() -> None:
    model, epochs = sys.argv[1], int(sys.argv[2])
    kv = dict(a.split("=", 1) for a in sys.argv[3:])
    widths = tuple(int(w) for w in kv.get("widths", "64,128,256,512").split(","))
    data = load_data("fortunes", seq_len=int(kv.get("seq_len", 64)),
                     limit=int(kv["limit"]) if "limit" in kv else None)
    print(data.describe(), f"threads={torch.get_num_threads()}", flush=True)
    bs = int(kv.get("batch_size", 64))
    train = BatchLoader(data.train, bs, shuffle=True, seed=0)
    val = BatchLoader(data.val, 500, shuffle=False)
    test = BatchLoader(data.test, 500, shuffle=False)
    torch.manual_seed(0)
    net = lit_models.create_model(model, **data.model_kwargs(), widths=widths,
                                  hidden=int(kv.get("hidden", 2048)),
                                  shortcut=kv.get("shortcut", "0") == "1")
    cfg = TrainConfig(epochs=epochs, lr=float(kv.get("lr", 0.01)), milestones=(0.5, 0.75),
                      gamma=0.5, device="cpu", progress=False, weight_decay=1e-4)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        res = fit(net, None, train, val, method="scratch", config=cfg, run_dir=run_dir,
                  test_loader=test)
    wall = time.perf_counter() - t0
    for h in res.history:
        print({k: h[k] for k in ("epoch", "train_acc", "val_acc") if k in h}, flush=True)
    params = sum(p.numel() for p in net.parameters())
    print(f"{model} widths={widths} params={params} epochs={epochs} wall={wall:.1f}s "
          f"({wall / epochs:.1f}s/epoch) best_val={res.best_val_acc:.4f} test={res.test_acc:.4f}")


if __name__ == "__main__":
    main()
