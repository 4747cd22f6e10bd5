"""fuse_model: a CIFAR ResNet as fused blocks gives the original model's outputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from lit_bench.fuse import FusedBasicBlock, fuse_model
from lit_models import create_model

pytestmark = [pytest.mark.ext, pytest.mark.usefixtures("native_op")]


def _trained_like(name: str, **kw) -> nn.Module:
    """A model with non-trivial BN statistics and affine terms, in eval mode."""
    torch.manual_seed(0)
    model = create_model(name, **kw)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


@pytest.mark.parametrize(("name", "kw"), [("resnet20", {}), ("resnet8", {"shortcut": "B"})])
def test_fused_model_matches_original_in_fp32(name, kw):
    model = _trained_like(name, **kw)
    fused = fuse_model(model)
    assert sum(isinstance(m, FusedBasicBlock) for m in fused.modules()) == len(
        [b for s in model.stages for b in s]
    )
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        ref = model.double()(x.double())
        out = fused(x)
    assert out.dtype == torch.float32
    assert _rel(out, ref) <= 1e-5


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_fused_model_in_half_types_stays_within_dtype_tolerance(dtype):
    model = _trained_like("resnet20")
    fused = fuse_model(model).to(dtype)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = model.double()(x.double())
        out = fused(x.to(dtype))
    assert out.dtype == dtype
    assert not out.isnan().any()
    # 19 layers each rounding to 8 (bf16) or 11 (fp16) mantissa bits: 5e-2 end to end.
    assert _rel(out, ref) <= 5e-2


def test_fuse_model_leaves_the_original_untouched():
    model = _trained_like("resnet8")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fuse_model(model)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


class _OddShortcut(nn.Module):
    def forward(self, x):
        return x[:, :, ::2, ::2].repeat(1, 2, 1, 1)


def test_unsupported_shortcut_error_names_the_module():
    model = _trained_like("resnet8")
    model.stages[1][0].shortcut = _OddShortcut()
    with pytest.raises(
        ValueError, match=r"stages\.1\.0\.shortcut: unsupported module _OddShortcut"
    ):
        fuse_model(model)


def test_unsupported_conv_error_names_the_module():
    model = _trained_like("resnet8")
    model.stages[0][0].conv2 = nn.Conv2d(16, 16, 5, padding=2, bias=False)
    with pytest.raises(ValueError, match=r"stages\.0\.0\.conv2: unsupported module"):
        fuse_model(model)


def _l1_pruned(name: str) -> nn.Module:
    from lit_bench.prune import LI2017_CONFIGS, l1_filter_prune

    return l1_filter_prune(_trained_like(name), LI2017_CONFIGS[name]["B"]).eval()


def test_structured_pruned_model_fuses_and_matches_original():
    model = _l1_pruned("resnet56")  # Li et al. 56-B: conv1 of most blocks keeps fewer filters
    fused = fuse_model(model)
    blocks = [m for m in fused.modules() if isinstance(m, FusedBasicBlock)]
    assert any(b.mid_chs < b.out_chs for b in blocks)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = model.double()(x.double())
        out = fused(x)
    assert _rel(out, ref) <= 1e-5


def test_zero_padding_of_inner_channels_for_cuda_is_exact():
    # what a pruned block runs on CUDA (Cmid padded to Cout), checked on the CPU kernel
    from lit_bench import ops

    block = next(m for m in fuse_model(_l1_pruned("resnet56")).modules()
                 if isinstance(m, FusedBasicBlock) and m.mid_chs < m.out_chs)
    x = torch.randn(2, block.in_chs, 16, 16).contiguous(memory_format=torch.channels_last)
    padded = block._padded_mid()
    assert padded[0].shape[0] == padded[2].shape[1] == block.out_chs
    kw = {"shortcut": block.shortcut, "stride": block.stride}
    with torch.no_grad():
        ref = block(x)
        out = ops.fused_basic_block(x, *padded, **kw)
    assert torch.allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_fuse_model_with_example_prepacks_for_onednn():
    from lit_bench import ops

    if torch.float32 not in ops.onednn_dtypes():
        pytest.skip("oneDNN is not available in this PyTorch build")
    model = _trained_like("resnet8")
    x = torch.randn(4, 3, 32, 32)
    fused = fuse_model(model, x)
    block = next(m for m in fused.modules() if isinstance(m, FusedBasicBlock))
    (w1, _, w2, *_), = block._cache.values()
    assert w1.is_mkldnn and w2.is_mkldnn
    with torch.no_grad():
        assert _rel(fused(x), model.double()(x.double())) <= 1e-5
    fused.to(torch.bfloat16)  # a cast drops the packed copies
    assert block._cache == {}
