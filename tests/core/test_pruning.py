"""Magnitude pruning with retraining: exact masks, masks kept while training, Fig. 6 outputs."""

from __future__ import annotations

import copy

import pytest
import torch
from lit_tiny import resnet
from studies_tiny import DigitsTrainFn, tiny_model

from lit_bench.prune import unstructured_prune
from lit_core.data import BatchLoader
from lit_core.models.pruning import (
    apply_masks,
    count_nonzero,
    iterative_prune,
    magnitude_masks,
    make_permanent,
    nonzero_masks,
    prunable_weights,
    prune_to_nonzero,
    sparsity_of,
)
from lit_core.studies.pruning import fit_retrain, format_prune_table, plot_prune_curve, prune_study
from lit_core.training.config import TrainConfig


def _weights(model):
    return {n: m.weight.detach().clone() for n, m in prunable_weights(model).items()}


def test_global_masks_zero_exactly_the_smallest_weights_network_wide():
    model = resnet(8)
    w = _weights(model)
    masks = magnitude_masks(model, 0.6, "global")
    flat_w = torch.cat([v.abs().flatten() for v in w.values()])
    flat_m = torch.cat([masks[n].flatten() for n in w])
    assert int((flat_m == 0).sum()) == round(0.6 * flat_w.numel())
    assert flat_w[flat_m == 0].max() <= flat_w[flat_m == 1].min()
    # global ranking prunes layers unevenly; per-layer ranking hits every layer at the rate
    per_layer = [float((m == 0).float().mean()) for m in masks.values()]
    assert max(per_layer) - min(per_layer) > 0.1
    layer = magnitude_masks(model, 0.6, "layer")
    for n, m in layer.items():
        assert int((m == 0).sum()) == round(0.6 * m.numel())
        assert w[n].abs()[m == 0].max() <= w[n].abs()[m == 1].min()


def test_masks_stay_applied_while_retraining_and_only_grow(tmp_path):
    train_fn = DigitsTrainFn(tmp_path, limit=200)
    d = train_fn.data
    model = tiny_model("resnet8", 0)
    before = _weights(model)
    retrain = fit_retrain(
        BatchLoader(d.train, 64, shuffle=True, augment=d.augment),
        BatchLoader(d.val, 500, shuffle=False), tmp_path / "retrain",
        config=TrainConfig(epochs=1, batch_size=64, device="cpu", progress=False),
    )
    rows = iterative_prune(model, [0.5, 0.8], retrain, name="s")
    assert [r["target_sparsity"] for r in rows] == [0.5, 0.8]
    assert rows[1]["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert rows[0]["nonzero_params"] > rows[1]["nonzero_params"]
    masks_final = {n: m.weight_mask.clone() for n, m in prunable_weights(model).items()}
    after = _weights(model)
    for n in before:
        pruned = masks_final[n] == 0
        assert torch.all(after[n][pruned] == 0), n  # zeros survived two retraining rounds
    kept = torch.cat([(after[n] != before[n])[masks_final[n] == 1] for n in before])
    assert kept.float().mean() > 0.9  # the kept weights were retrained
    make_permanent(model)
    assert not any(hasattr(m, "weight_mask") for m in prunable_weights(model).values())
    assert sparsity_of(model) == pytest.approx(rows[1]["sparsity"])


def test_prune_to_nonzero_hits_the_target_and_matches_lit_bench():
    model = resnet(8)
    target = count_nonzero(model) // 3
    ours = prune_to_nonzero(model, target)
    assert count_nonzero(ours) == target
    assert count_nonzero(model) > target  # the input is untouched
    theirs = unstructured_prune(model, target)
    for (n, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a == 0, b == 0), n
    masked = apply_masks(copy.deepcopy(model), nonzero_masks(model, target))  # fine-tunable form
    assert count_nonzero(masked) == target
    with pytest.raises(ValueError, match="cannot prune to"):
        prune_to_nonzero(model, -1)


def test_bad_arguments_are_named():
    model = resnet(8)
    with pytest.raises(ValueError, match="sparsity must be in"):
        magnitude_masks(model, 1.0)
    with pytest.raises(ValueError, match="scope must be one of"):
        magnitude_masks(model, 0.5, "channel")
    with pytest.raises(ValueError, match="increase strictly"):
        iterative_prune(model, [0.8, 0.5], lambda m, n: {})
    with pytest.raises(ValueError, match="not a conv/linear layer"):
        apply_masks(model, {"stages": torch.ones(1)})


def test_prune_study_gives_the_same_budget_to_every_student_and_a_table_and_plot(tmp_path):
    calls = []

    def retrain(model, job):
        calls.append(job)
        return {"val_acc": 1 - sparsity_of(model) / 2, "test_acc": 1 - sparsity_of(model) / 3}

    students = {"lit": resnet(8), "scratch": resnet(8)}
    original = copy.deepcopy(students["lit"].state_dict())
    rows = prune_study(students, [0.0, 0.5, 0.9], retrain,
                       evaluate=lambda m, n: {"val_acc": 1.0, "test_acc": 1.0})
    assert calls == ["lit-s50", "lit-s90", "scratch-s50", "scratch-s90"]
    assert [r["model"] for r in rows] == ["lit"] * 3 + ["scratch"] * 3
    assert all(torch.equal(v, students["lit"].state_dict()[k]) for k, v in original.items())
    table = format_prune_table(rows)
    assert "| lit | 90.0 |" in table
    assert plot_prune_curve(rows, tmp_path / "fig6.png").stat().st_size > 0
