"""``forward_stages`` is one contract written twice (lit-core and lit-models may not import each
other): lit-models' ``StagedNet.forward_stages`` and lit-core's ``stage_outputs`` (which its
``as_staged`` wrappers use) agree bit for bit on the zoo's models, and both feed ``head`` what
``forward`` feeds it."""

from __future__ import annotations

import pytest
import torch

from lit_core import as_staged
from lit_core.method import stage_outputs
from lit_models import create_model

MODELS = {  # name -> builder arguments: small, one per family with a single-input forward
    "resnet8": {"img_size": 8},
    "resnext20_16x4d": {"img_size": 8},
    "resnet18": {"num_classes": 10, "img_size": 32},
    "vdcnn9": {"num_classes": 4, "seq_len": 64},
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_lit_core_and_lit_models_stage_outputs_agree(name):
    torch.manual_seed(0)
    model = create_model(name, **MODELS[name]).eval()
    x = model.example_input(2)
    stages = [f"stages.{i}" for i in range(len(model.stages))]
    wrapped = as_staged(model, stem="stem", stages=stages, head="head", example_input=x)
    with torch.no_grad():
        zoo = model.forward_stages(x)
        core = stage_outputs(model, x)
        wrapper = wrapped.forward_stages(x)
        logits = model(x)
    assert len(zoo) == len(core) == len(wrapper) == len(model.stages)
    for i, (a, b, c) in enumerate(zip(zoo, core, wrapper, strict=True)):
        assert torch.equal(a, b) and torch.equal(a, c), f"{name}: stage {i} differs"
    with torch.no_grad():
        assert torch.equal(model.head(zoo[-1]), logits)
        assert torch.equal(wrapped.head(wrapper[-1]), logits)


def test_stage_outputs_runs_stem_then_each_stage_and_nothing_else():
    stem = torch.nn.Linear(3, 3)
    stages = torch.nn.ModuleList([torch.nn.Linear(3, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2)])
    head = torch.nn.Linear(2, 5)
    model = torch.nn.Module()
    model.stem, model.stages, model.head = stem, stages, head
    x = torch.randn(4, 3)
    with torch.no_grad():
        outs = stage_outputs(model, x)
        h0 = stages[0](stem(x))
        expected = [h0, stages[1](h0), stages[2](stages[1](h0))]
    assert len(outs) == 3 and all(torch.equal(a, b) for a, b in zip(outs, expected, strict=True))
