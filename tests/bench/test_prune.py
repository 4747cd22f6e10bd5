"""Pruned baselines: published MACs (Li et al. 2017), shapes, nonzero targets, DepGraph ratios."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from lit_bench.counting import count_nonzero_params
from lit_bench.prune import LI2017_CONFIGS, depgraph_prune, l1_filter_prune, unstructured_prune
from lit_core.models.profile import count_conv_layers, count_params
from lit_core.models.profile import count_macs as _count_macs

lit_models = pytest.importorskip("lit_models")


def count_macs(model):
    return _count_macs(model, (3, 32, 32))  # CIFAR input


@pytest.mark.parametrize("name,macs", [("resnet56", 1.25e8), ("resnet110", 2.53e8), ("resnet20", 4.06e7)])
def test_mac_counter_reproduces_the_papers_unpruned_counts(name, macs):
    assert count_macs(lit_models.create_model(name)) == pytest.approx(macs, rel=5e-3)


@pytest.mark.parametrize(
    "name,variant,published",
    [("resnet56", "B", 9.09e7), ("resnet110", "A", 2.13e8), ("resnet110", "B", 1.55e8), ("resnet56", "A", 1.12e8)],
)
def test_l1_filter_pruning_matches_published_macs(name, variant, published):
    model = lit_models.create_model(name).eval()
    config = LI2017_CONFIGS[name][variant]
    pruned = l1_filter_prune(model, config).eval()
    assert count_macs(pruned) == pytest.approx(published, rel=0.01)
    assert count_conv_layers(pruned) == count_conv_layers(model)  # filters go, layers stay
    assert count_params(pruned) < count_params(model)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert pruned(x).shape == (3, 10)
    # the residual stream is untouched: every block still outputs its stage width
    for s, stage in enumerate(pruned.stages):
        assert {b.conv2.out_channels for b in stage} == {16 * 2**s}


def test_l1_filter_pruning_keeps_the_largest_l1_filters():
    model = lit_models.create_model("resnet56").eval()
    block = model.stages[0][0]  # layer 2: pruned at 60% in ResNet-56-B
    l1 = block.conv1.weight.abs().sum(dim=(1, 2, 3))
    keep = sorted(torch.argsort(l1, descending=True)[:6].tolist())
    pruned = l1_filter_prune(model, LI2017_CONFIGS["resnet56"]["B"])
    kept = pruned.stages[0][0].conv1.weight
    assert kept.shape[0] == 6
    assert torch.equal(kept, block.conv1.weight[keep])
    assert torch.equal(pruned.stages[0][0].conv2.weight, block.conv2.weight[:, keep])
    assert pruned.stages[0][7].conv1.out_channels == 16  # layer 16 is skipped


def test_unstructured_pruning_reaches_the_students_parameter_count():
    teacher = lit_models.create_model("resnet56")
    target = count_params(lit_models.create_model("resnet20"))
    pruned = unstructured_prune(teacher, target)
    assert count_nonzero_params(pruned) == target
    assert count_params(pruned) == count_params(teacher)  # dense shapes: same work
    assert count_macs(pruned) == count_macs(teacher)
    assert not any(n.endswith("_orig") or n.endswith("_mask") for n, _ in pruned.named_parameters())
    assert not any(n.endswith("_mask") for n, _ in pruned.named_buffers())
    assert count_nonzero_params(teacher) > target  # original untouched


def test_unstructured_pruning_rejects_impossible_targets():
    with pytest.raises(ValueError, match="cannot prune"):
        unstructured_prune(lit_models.create_model("resnet20"), 10**9)


@pytest.mark.parametrize("round_to", [None, 8])
def test_depgraph_halves_macs_and_respects_round_to(round_to):
    model = lit_models.create_model("resnet20").eval()
    pruned = depgraph_prune(model, 2.0, round_to=round_to).eval()
    ratio = count_macs(model) / count_macs(pruned)
    assert 2.0 <= ratio <= 2.4
    internal = [b.conv1.out_channels for stage in pruned.stages for b in stage]
    assert max(internal) < 64
    if round_to:
        assert all(c % round_to == 0 for c in internal), internal
    with torch.no_grad():
        assert pruned(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    # residual-stream convs keep their widths (option-A pad shortcuts)
    assert [s[-1].conv2.out_channels for s in pruned.stages] == [16, 32, 64]
    assert isinstance(pruned.head[-1], nn.Linear) and pruned.head[-1].in_features == 64


def test_unstructured_pruning_counts_weights_that_are_already_zero():
    teacher = lit_models.create_model("resnet20")
    with torch.no_grad():
        teacher.stages[0][0].conv1.weight.view(-1)[:7] = 0  # e.g. from an earlier pruning round
    target = count_nonzero_params(teacher) - 1000
    assert count_nonzero_params(unstructured_prune(teacher, target)) == target
