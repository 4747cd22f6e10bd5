"""The domain classifier behind the metrics: a small CNN trained on the real images' domains.

Inception weights cannot be downloaded here, so FID/KID/IS default to this classifier's
features (penultimate layer) and logits, which every report labels as such. It also gives
StarGAN's own metric: the accuracy of the classifier on translated images w.r.t. the target.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import ConfigError
from ..io.checkpoint import load_checkpoint, save_atomic
from ..models.build import build_model
from .data import DomainData
from .losses import domain_loss

__all__ = ["load_classifier", "save_classifier", "train_classifier"]

FORMAT = "lit-gan-classifier-1"


def _build(name: str, data: DomainData) -> nn.Module:
    return build_model(name, num_classes=data.c_dim, in_chans=data.in_chans, img_size=data.image_size)


@torch.no_grad()
def domain_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, kind: str, batch: int = 500) -> float:
    """Accuracy (single: argmax; multi: every attribute, sigmoid > 0.5) on images in [-1, 1]."""
    model.eval()
    hits = 0.0
    for i in range(0, len(images), batch):
        logits, y = model(images[i : i + batch]), labels[i : i + batch]
        if kind == "single":
            hits += (logits.argmax(1) == y.argmax(1)).sum().item()
        else:
            hits += ((logits > 0).float() == y).float().mean(1).sum().item()
    return hits / len(images)


def train_classifier(data: DomainData, *, model_name: str = "resnet8", epochs: int = 4, seed: int = 0,
                     batch_size: int = 128, lr: float = 1e-3, log=print) -> tuple[nn.Module, dict]:
    """Train the classifier on the training split (Adam, flips off); returns it and its record."""
    torch.manual_seed(seed)
    batch_size = min(batch_size, len(data.train))
    model = _build(model_name, data)
    opt = torch.optim.Adam(model.parameters(), lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * (len(data.train) // batch_size))
    gen, t0 = torch.Generator().manual_seed(seed), time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(data.train), generator=gen)
        for i in range(0, len(order) - batch_size + 1, batch_size):
            idx = order[i : i + batch_size]
            loss = domain_loss(model(data.train.images[idx]), data.train.labels[idx], data.kind)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        log(f"classifier epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}")
    acc = domain_accuracy(model, data.test.images, data.test.labels, data.kind)
    record = {"model": model_name, "epochs": epochs, "test_accuracy": round(acc, 4),
              "test_images": len(data.test), "train_images": len(data.train),
              "seconds": round(time.perf_counter() - t0, 1), "data": data.describe()}
    log(f"classifier {model_name}: test accuracy {100 * acc:.2f}% on {len(data.test)} images")
    return model.eval(), record


def save_classifier(model: nn.Module, path: Path, *, model_name: str, data: DomainData, record: dict) -> Path:
    """Write the classifier (float16 weights) with what it was trained on."""
    sd = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    return save_atomic({"format": FORMAT, "model": model_name, "state": sd, "domains": list(data.domains),
                        "kind": data.kind, "in_chans": data.in_chans, "image_size": data.image_size,
                        "record": record}, path)


def load_classifier(path: Path, data: DomainData) -> tuple[nn.Module, dict]:
    """Load a saved classifier; an error if it was trained for other domains or image sizes."""
    ck = load_checkpoint(path)
    if ck.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a lit GAN classifier file (format {ck.get('format')!r})")
    if (tuple(ck["domains"]), ck["in_chans"], ck["image_size"]) != (data.domains, data.in_chans, data.image_size):
        raise ConfigError(f"{path} classifies {ck['domains']} at {ck['in_chans']}×{ck['image_size']}² but the data has "
                         f"{list(data.domains)} at {data.in_chans}×{data.image_size}²; retrain it (delete the file)")
    model = _build(ck["model"], data)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck["state"].items()})
    return model.eval(), ck["record"]
