"""LIT inside your own training loop, with your own model, data and optimiser (AdamW).

Run: python examples/lit_in_your_own_loop.py [--tiny]   (--tiny: a few seconds on CPU)
"""

from __future__ import annotations

import sys

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from lit_core import LITCriterion, as_staged, copy_stem_and_head, unwrap


class MyCNN(nn.Module):
    """Your own 2-stage CNN; ``blocks`` convs per stage (the student has fewer)."""

    def __init__(self, blocks: int, width: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.conv_in = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())
        self.block1 = nn.Sequential(*[nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU())
                                      for _ in range(blocks)])
        self.block2 = nn.Sequential(*[nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU())
                                      for _ in range(blocks)])
        self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.block2(self.block1(self.conv_in(x))))


def main(tiny: bool = False, out: str = "student.pt") -> float:
    """Train a teacher briefly, compress it with LIT in a hand-written loop; return the last loss."""
    torch.manual_seed(0)
    n, size = (64, 8) if tiny else (2048, 32)
    data = TensorDataset(torch.randn(n, 3, size, size), torch.randint(0, 10, (n,)))
    loader = DataLoader(data, batch_size=32, shuffle=True)
    names = {"stem": "conv_in", "stages": ["block1", "block2"], "head": "fc"}

    teacher = MyCNN(blocks=4)  # LIT needs a trained teacher: train it first (briefly here)
    opt = torch.optim.AdamW(teacher.parameters(), lr=1e-3)
    for x, y in loader:
        loss = nn.functional.cross_entropy(teacher(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    t, s = as_staged(teacher, **names), as_staged(MyCNN(blocks=1), **names)
    copy_stem_and_head(t, s)
    crit = LITCriterion(t, s)
    opt = torch.optim.AdamW(crit.student.parameters(), lr=1e-3)
    for _epoch in range(1 if tiny else 5):
        for x, y in loader:
            loss = crit(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    torch.save(unwrap(s).state_dict(), out)  # your class's own keys (conv_in.0.weight, …)

    # later, plain torch, three lines:
    student = MyCNN(blocks=1)
    student.load_state_dict(torch.load(out, weights_only=True))
    student.eval()
    print(f"last LIT loss {loss.item():.4f}; student predicts {student(x[:4]).argmax(1).tolist()}")
    return loss.item()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--tiny"]
    main(tiny="--tiny" in sys.argv[1:], out=args[0] if args else "student.pt")
