"""Catalog: roles and sizes, checkpoints that fit or do not, pruned checkpoints, test accuracy."""

from __future__ import annotations

import pytest
import torch

from lit_bench.catalog import InputSpec, build_candidates, create_base_model, load_weights

lit_models = pytest.importorskip("lit_models")


def _quiet(_msg: str) -> None:
    pass


def test_pruned_variants_belong_to_teachers_and_carry_their_size():
    cands, skipped = build_candidates(["resnet20", "resnet56"], ["dense", "l1-B", "unstructured"], log=_quiet)
    assert not skipped
    got = {c.key: c for c in cands}
    assert set(got) == {"resnet20/dense", "resnet56/dense", "resnet56/l1-B", "resnet56/unstructured"}
    assert got["resnet20/dense"].role == "student" and got["resnet56/dense"].role == "teacher"
    assert got["resnet56/l1-B"].macs == pytest.approx(9.09e7, rel=0.01)
    assert got["resnet56/unstructured"].params == got["resnet20/dense"].params  # nonzero count
    assert got["resnet56/unstructured"].macs == got["resnet56/dense"].macs
    assert got["resnet20/dense"].conv_layers == 19 and got["resnet56/l1-B"].conv_layers == 55
    assert not any(c.trained or c.accuracy is not None for c in cands)


def test_unknown_names_and_a_checkpoint_that_does_not_fit_skip_only_their_rows(tmp_path):
    wrong = tmp_path / "resnet20.pt"
    torch.save({"model": lit_models.create_model("resnet20").state_dict()}, wrong)
    messages: list[str] = []
    cands, skipped = build_candidates(
        ["resnet20", "resnet56", "resnet9000"], ["dense", "l1-Z"],
        checkpoints={"resnet56": str(wrong)}, log=messages.append,
    )
    assert [c.key for c in cands] == ["resnet20/dense"]
    reasons = {(s.model, s.variant): s.reason for s in skipped}
    assert "does not match the model" in reasons[("resnet56", "*")] and "resnet56" not in [c.model for c in cands]
    assert "unknown model 'resnet9000'" in reasons[("resnet9000", "*")]
    assert "unknown variant 'l1-Z'" in reasons[("*", "l1-Z")]
    assert len(messages) == 3 and all("\n" not in m for m in messages)


def test_a_fine_tuned_pruned_checkpoint_is_loaded_with_its_channel_counts(tmp_path):
    cands, _ = build_candidates(["resnet56"], ["l1-B"], log=_quiet)
    pruned = cands[0].module
    with torch.no_grad():
        for p in pruned.parameters():
            p.add_(0.01)  # "fine-tuned": different from a fresh prune
    path = tmp_path / "ft.pt"
    torch.save({"model": pruned.state_dict(), "optimizer": {}}, path)
    loaded, skipped = build_candidates(["resnet56"], ["l1-B"], checkpoints={"resnet56/l1-B": str(path)}, log=_quiet)
    assert not skipped and loaded[0].trained
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded[0].module(x), pruned.eval()(x))


def test_load_weights_refuses_a_file_that_is_not_a_state_dict(tmp_path):
    path = tmp_path / "junk.pt"
    torch.save({"model": "not tensors"}, path)
    with pytest.raises(ValueError, match="no model state dict"):
        load_weights(create_base_model("resnet20"), path)


def test_accuracy_on_the_test_split_of_a_lit_core_data_set(tmp_path):
    accuracy = pytest.importorskip("lit_bench.accuracy")
    splits = accuracy.load_test_split("digits")
    spec = accuracy.spec_of(splits)
    assert spec == InputSpec(in_chans=1, img_size=8, num_classes=10)
    model = create_base_model("resnet20", spec)
    path = tmp_path / "r20.pt"
    torch.save({"model": model.state_dict()}, path)
    cands, skipped = build_candidates(["resnet20"], ["dense"], checkpoints={"resnet20": str(path)}, spec=spec, log=_quiet)
    assert not skipped
    accuracy.evaluate_candidates(cands, splits, log=_quiet)
    with torch.no_grad():
        pred = model.eval()(splits.test.images).argmax(1)
    assert cands[0].accuracy == pytest.approx((pred == splits.test.labels).float().mean().item())
