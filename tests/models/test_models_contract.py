"""The stage-interface contract, checked on every registered model (one parametrized test)."""

from __future__ import annotations

import math

import pytest
import torch

import lit_models

# Smallest inputs that keep every stage valid, so the whole zoo runs in seconds on a CPU.
SMALL_INPUT = {
    "cifar_resnet": {"img_size": 16},
    "resnext": {"img_size": 8},
    "vdcnn": {"seq_len": 64},
    "torchvision_resnet": {"img_size": 32},
}
SMALL_INPUT_BY_NAME = {
    "stargan_generator": {"img_size": 32},
    "stargan_discriminator": {"img_size": 64},
}
# Models whose contract check takes several seconds on a busy 2-core CPU (still run by default).
HEAVY = {"resnet1202", "resnext29_16x64d", "resnet152", "wide_resnet50_2", "wide_resnet101_2",
         "resnext101_32x8d", "resnext101_64x4d"}


def build_small(name: str) -> torch.nn.Module:
    """The registered model with its smallest valid input size."""
    kwargs = SMALL_INPUT_BY_NAME.get(name) or SMALL_INPUT.get(lit_models.model_family(name), {})
    torch.manual_seed(0)
    return lit_models.create_model(name, **kwargs)


def _params() -> list:
    return [pytest.param(n, marks=[pytest.mark.slow] if n in HEAVY else [], id=n)
            for n in lit_models.list_models()]


def _compose(model, x):
    """stem → each stage → head, by hand, through the public attributes."""
    h = model.stem(x)
    outs = []
    for stage in model.stages:
        h = stage(h)
        outs.append(h)
    return outs, model.head(h)


def _loss(out) -> torch.Tensor:
    return sum(o.float().mean() for o in out) if isinstance(out, tuple) else out.float().mean()


@pytest.mark.parametrize("name", _params())
def test_model_satisfies_stage_contract(name: str) -> None:
    model = build_small(name)
    x = model.example_input(batch_size=2)
    assert x.shape[1:] == model.input_size

    # forward(x) equals stem → stages → head, in train mode (batch statistics) and eval mode.
    model.train()
    out = model(x)  # kept with its graph for the backward check below
    with torch.no_grad():
        _, composed = _compose(model, x)
    torch.testing.assert_close(out, composed, rtol=1e-4, atol=1e-5)
    model.eval()
    with torch.no_grad():
        outs, composed = _compose(model, x)
        torch.testing.assert_close(model(x), composed, rtol=1e-4, atol=1e-5)
        staged = model.forward_stages(x)
    assert len(staged) == len(model.stages) == len(outs)
    for got, want in zip(staged, outs, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)

    # feature_info describes the real boundary outputs: channels, reduction, module name.
    assert len(model.feature_info) == len(model.stages)
    for i, (info, o) in enumerate(zip(model.feature_info, outs, strict=True)):
        assert set(info) == {"num_chs", "reduction", "module"}
        assert info["module"] == f"stages.{i}"
        assert model.get_submodule(info["module"]) is model.stages[i]
        assert o.shape[1] == info["num_chs"]
        assert o.shape[-1] == math.ceil(x.shape[-1] / info["reduction"])

    # A backward pass (from the train-mode forward) reaches every parameter with finite grads.
    _loss(out).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
