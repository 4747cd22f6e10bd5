"""Compress your own CNN with one call: your model, your DataLoaders, ``lit_core.compress``.

The data is scikit-learn's handwritten digits (1,797 real 8x8 images, bundled with the package,
no download). The teacher is a 3-stage CNN with 3 convs per stage, trained first by ``compress``
(``teacher_epochs``); the student has 1 conv per stage and learns with LIT (per-stage losses
against the teacher's intermediate representations), then a KD fine-tune.

Run: python examples/compress_custom_cnn.py [--tiny] [OUT]   (--tiny: a few seconds on CPU;
OUT: where the student's weights go, default student.pt). Measured without --tiny (10 epochs per
phase, CPU, 1 thread): teacher val acc 0.967, student val acc 0.967, about a minute.
"""

from __future__ import annotations

import sys

import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

from lit_core import as_staged, compress, unwrap


class DigitsCNN(nn.Module):
    """Your own model: ``blocks`` 3x3 convs in each of 3 stages (8x8 → 8x8 → 4x4 → 2x2)."""

    def __init__(self, blocks: int, width: int = 32, classes: int = 10) -> None:
        super().__init__()

        def conv(c_in: int, stride: int = 1) -> nn.Module:
            return nn.Sequential(nn.Conv2d(c_in, width, 3, stride, 1, bias=False),
                                 nn.BatchNorm2d(width), nn.ReLU())

        self.features_in = conv(1)
        self.group1 = nn.Sequential(*[conv(width) for _ in range(blocks)])
        self.group2 = nn.Sequential(conv(width, 2), *[conv(width) for _ in range(blocks - 1)])
        self.group3 = nn.Sequential(conv(width, 2), *[conv(width) for _ in range(blocks - 1)])
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.group3(self.group2(self.group1(self.features_in(x)))))


def digits_loaders(limit: int | None = None) -> tuple[DataLoader, DataLoader]:
    """Your own DataLoaders: the first 80% of the digits to train on, the rest to validate."""
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # N x 1 x 8 x 8
    x = (x - x.mean()) / x.std()
    y = torch.tensor(digits.target)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    cut = int(0.8 * len(x))
    train = DataLoader(TensorDataset(x[:cut], y[:cut]), batch_size=64, shuffle=True,
                       generator=torch.Generator().manual_seed(0))
    val = DataLoader(TensorDataset(x[cut:], y[cut:]), batch_size=256)
    return train, val


def main(tiny: bool = False, out: str = "student.pt") -> dict[str, float]:
    """Train a teacher, compress it into a 3x shallower student; save the student; return accuracies."""
    torch.manual_seed(0)
    train, val = digits_loaders(limit=320 if tiny else None)
    epochs = 1 if tiny else 10
    names = {"stem": "features_in", "stages": ["group1", "group2", "group3"], "head": "classifier"}
    example = next(iter(val))[0][:2]  # lets as_staged check the wrapping and measure the stages
    teacher = as_staged(DigitsCNN(blocks=3), **names, example_input=example)
    student = as_staged(DigitsCNN(blocks=1), **names, example_input=example)

    result = compress(
        student, teacher, train, val,
        teacher_epochs=epochs, ir_epochs=epochs, epochs=epochs,  # teacher, LIT phase, fine-tune
        optimizer=torch.optim.AdamW, lr=3e-3, finetune_lr=1e-3,  # (params, lr) -> optimiser
        scheduler=torch.optim.lr_scheduler.CosineAnnealingLR,    # (optimiser, epochs) -> schedule
        quiet=tiny,  # device="auto" (the default): CUDA when available
    )
    torch.save(unwrap(student).state_dict(), out)  # your class's own keys (group1.0.0.weight, …)

    # later, plain torch:
    model = DigitsCNN(blocks=1)
    model.load_state_dict(torch.load(out, weights_only=True))
    accs = {"teacher": result.teacher_fit.best_val_acc, "student": result.fit.best_val_acc}
    print(f"teacher val acc {accs['teacher']:.3f}; student (1/3 of the convs) val acc "
          f"{accs['student']:.3f}; saved {out}")
    return accs


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--tiny"]
    main(tiny="--tiny" in sys.argv[1:], out=args[0] if args else "student.pt")
