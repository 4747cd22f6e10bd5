"""Fine-tune a pruned model with lit-core's trainer, so a baseline's accuracy is measured, not assumed.

The pruned network is trained end to end (cross-entropy, or KD from ``teacher`` when given) with
lit-core's ``fit`` on a lit-core data set; the best-validation weights land in
``run_dir/best.pt``. Bench them with ``--checkpoint MODEL/VARIANT=run_dir/best.pt`` — structured
variants take their channel counts from the checkpoint. From the shell::

    python -c "from lit_bench.finetune import finetune_variant; finetune_variant('resnet110', 'l1-B', \
        base_checkpoint='runs/teacher/best.pt', run_dir='runs/r110-l1B', epochs=40, data='cifar10', \
        data_dir='~/data/cifar10')"
"""

from __future__ import annotations

import os
from pathlib import Path

import torch.nn as nn

from .accuracy import load_test_split, spec_of
from .catalog import create_base_model, load_weights, make_variant
from .counting import lit_core_profile

__all__ = ["finetune", "finetune_pruned", "finetune_variant"]


def finetune(
    model: nn.Module,
    run_dir: str | os.PathLike,
    *,
    data: str = "auto",
    data_dir: str | os.PathLike | None = None,
    splits=None,
    augment: bool = True,
    teacher: nn.Module | None = None,
    epochs: int = 40,
    lr: float = 0.01,
    batch_size: int = 128,
    limit: int | None = None,
    overwrite: bool = False,
    device: str = "auto",
    meta: dict | None = None,
):
    """Train ``model`` in place with lit-core (``scratch`` or ``kd`` method); returns lit-core's FitResult.
    ``splits``: a lit-core ``DataSplits`` to train on (e.g. a run's own); else ``data`` is loaded.
    ``augment=False``: no training augmentation (as a run with ``data.augment = false`` trained)."""
    from lit_core import TrainConfig, fit, resolve_device
    from lit_core.data import BatchLoader, load_data

    if splits is None:
        splits = load_data(data, data_dir, limit=limit, quiet=True)
    dev = resolve_device(device)
    train = BatchLoader(splits.train, batch_size, shuffle=True, augment=splits.augment if augment else None,
                        device=dev)
    val = BatchLoader(splits.val, 500, shuffle=False, device=dev)
    test = BatchLoader(splits.test, 500, shuffle=False, device=dev)
    cfg = TrainConfig(epochs=epochs, ir_epochs=0, lr=lr, batch_size=batch_size, device=device)
    return fit(
        model, teacher, train, val, method="kd" if teacher is not None else "scratch", config=cfg,
        run_dir=run_dir, test_loader=test, overwrite=overwrite, meta=meta or {},
    )


def finetune_pruned(pruned: nn.Module, variant: str, run_dir: str | os.PathLike, **kwargs):
    """Fine-tune a pruned ``variant`` in place (``finetune``'s keywords); returns the FitResult.

    The ``unstructured`` variant (Han et al.) trains with lit-core's masks kept applied
    (``lit_core.models.pruning.apply_masks``), so its pruned weights stay zero; the masks are then folded
    in (``make_permanent``) and best.pt is rewritten with plain dense weights, loadable as
    ``--checkpoint MODEL/unstructured=...``. Structured variants train as they are.
    """
    if variant != "unstructured":
        return finetune(pruned, run_dir, **kwargs)
    from lit_core.io import load_checkpoint, save_atomic
    from lit_core.models import apply_masks, count_nonzero, make_permanent, nonzero_masks

    apply_masks(pruned, nonzero_masks(pruned, count_nonzero(pruned)))  # keep today's zeros zero
    result = finetune(pruned, run_dir, **kwargs)
    make_permanent(pruned)  # fit left the best weights in ``pruned``; fold its masks in
    best = Path(result.best_checkpoint)
    # the weights come from memory; the file only lends its record (read code-free, like any other)
    ckpt = load_checkpoint(best)
    ckpt["model"] = {k: v.detach().cpu() for k, v in pruned.state_dict().items()}
    save_atomic(ckpt, best)
    return result


def finetune_variant(
    model_name: str,
    variant: str,
    *,
    run_dir: str | os.PathLike,
    base_checkpoint: str | os.PathLike | None = None,
    data: str = "auto",
    data_dir: str | os.PathLike | None = None,
    unstructured_target: str = "resnet20",
    **kwargs,
) -> Path:
    """Prune ``model_name`` (from ``base_checkpoint`` if given) as ``variant`` and fine-tune it; returns best.pt.
    ``unstructured`` is pruned to ``unstructured_target``'s parameter count (see ``finetune_pruned``)."""
    spec = spec_of(load_test_split(data, data_dir))
    base = create_base_model(model_name, spec)
    if base_checkpoint is not None:
        load_weights(base, base_checkpoint)
    meta = {"model": model_name, "variant": variant}
    if variant == "unstructured":
        from lit_core.models import prune_to_nonzero

        target = lit_core_profile().count_params(create_base_model(unstructured_target, spec))
        pruned = prune_to_nonzero(base, target)
        meta["unstructured_target"] = unstructured_target
    else:
        pruned = make_variant(base, model_name, variant, unstructured_target=0, input_shape=spec.shape)
    result = finetune_pruned(pruned, variant, run_dir, data=data, data_dir=data_dir, meta=meta, **kwargs)
    return Path(result.best_checkpoint)
