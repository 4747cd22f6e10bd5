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


def test_unstructured_variants_are_not_fine_tuned(tmp_path):
    with pytest.raises(ValueError, match="regrow"):
        finetune_variant("resnet56", "unstructured", run_dir=tmp_path, data="digits")
