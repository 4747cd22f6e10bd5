"""BN folding keeps outputs (fp32) and removes every BatchNorm that follows a conv."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from lit_bench.fold import conv_bn_pairs, fold_bn

lit_models = pytest.importorskip("lit_models")


def _randomise_bn(model: nn.Module, seed: int = 0) -> None:
    """Give every BN non-trivial statistics and affine parameters (init leaves them at identity)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(n, generator=g) * 0.5 + 1)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)


@pytest.mark.parametrize("name,kwargs", [("resnet20", {}), ("resnet8", {"shortcut": "B"})])
def test_folded_model_matches_eval_model_fp32(name, kwargs):
    model = lit_models.create_model(name, **kwargs)
    _randomise_bn(model)
    model.eval()
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    folded = fold_bn(model)
    with torch.no_grad():
        ref, out = model(x), folded(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert torch.allclose(out, ref, rtol=1e-5, atol=1e-5), (out - ref).abs().max()


def test_fold_bn_leaves_the_original_untouched_and_keeps_module_names():
    model = lit_models.create_model("resnet20").eval()
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    folded = fold_bn(model)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == n_bn
    assert len(conv_bn_pairs(model)) == n_bn == 19
    assert isinstance(folded.get_submodule("stages.0.0.bn1"), nn.Identity)
    assert folded.get_submodule("stages.0.0.conv1").bias is not None


def test_bn_not_preceded_by_a_conv_is_kept():
    model = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    folded = fold_bn(model)
    assert isinstance(folded[0], nn.BatchNorm2d) and isinstance(folded[2], nn.Identity)
