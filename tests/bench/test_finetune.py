"""A pruned variant fine-tuned with lit-core's trainer loads back into the bench with its accuracy."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("lit_core")
pytest.importorskip("lit_models")

from lit_bench.accuracy import evaluate_candidates, load_test_split, spec_of
from lit_bench.catalog import build_candidates
from lit_bench.finetune import finetune_variant


def test_fine_tuned_depgraph_variant_round_trips_into_the_bench(tmp_path):
    best = finetune_variant(
        "resnet56", "depgraph-r8", run_dir=tmp_path / "ft", data="digits", epochs=1, limit=200,
        batch_size=64, device="cpu",
    )
    assert best.is_file()
    splits = load_test_split("digits")
    cands, skipped = build_candidates(
        ["resnet56"], ["depgraph-r8"], checkpoints={"resnet56/depgraph-r8": str(best)},
        spec=spec_of(splits), log=lambda _: None,
    )
    assert not skipped and cands[0].trained
    assert all(b.conv1.out_channels % 8 == 0 for s in cands[0].module.stages for b in s)
    saved = torch.load(best, weights_only=True)["model"]
    loaded = cands[0].module.state_dict()
    assert saved.keys() == loaded.keys() and all(torch.equal(saved[k], loaded[k]) for k in saved)
    evaluate_candidates(cands, splits, log=lambda _: None)
    with torch.no_grad():
        pred = cands[0].module.eval()(splits.test.images).argmax(1)
    assert cands[0].accuracy == pytest.approx((pred == splits.test.labels).float().mean().item())


def test_fine_tuned_unstructured_variant_keeps_its_zeros(tmp_path):
    from lit_bench.catalog import create_base_model
    from lit_bench.counting import lit_core_profile
    from lit_bench.prune import unstructured_prune
    from lit_core.models.pruning import prunable_weights

    def weight_nonzeros(model):  # conv/linear weights only: BN and biases are not pruned and train freely
        return sum(int(torch.count_nonzero(m.weight)) for m in prunable_weights(model).values())

    splits = load_test_split("digits")
    target = lit_core_profile().count_params(create_base_model("resnet20", spec_of(splits)))
    best = finetune_variant(
        "resnet56", "unstructured", run_dir=tmp_path / "ft", data="digits", epochs=1, limit=200,
        batch_size=64, lr=0.1, device="cpu",
    )
    saved = torch.load(best, weights_only=True)["model"]
    assert not any(k.endswith(("weight_orig", "weight_mask")) for k in saved)  # masks folded in
    cands, skipped = build_candidates(
        ["resnet56"], ["unstructured"], checkpoints={"resnet56/unstructured": str(best)},
        spec=spec_of(splits), log=lambda _: None,
    )
    assert not skipped and cands[0].trained
    # training with lr 0.1 would regrow zeroed weights without the masks; with them, none regrow
    expected = weight_nonzeros(unstructured_prune(create_base_model("resnet56", spec_of(splits)), target))
    assert weight_nonzeros(cands[0].module) == expected
