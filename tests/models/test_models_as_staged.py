"""as_staged: a user's own model gets the stage interface by module names."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torchvision.models as tvm

import lit_models

TV_NAMES = {"stem": ["conv1", "bn1", "relu", "maxpool"],
            "stages": ["layer1", "layer2", "layer3", "layer4"],
            "head": ["avgpool", "fc"]}


@pytest.fixture
def resnet18():
    torch.manual_seed(0)
    return tvm.resnet18(weights=None, num_classes=10)


def test_wrapped_torchvision_resnet_reproduces_forward_in_train_and_eval(resnet18):
    x = torch.randn(2, 3, 64, 64)
    wrapped = lit_models.as_staged(resnet18, **TV_NAMES, example_input=x)
    for training in (True, False):
        resnet18.train(training)
        wrapped.train(training)
        with torch.no_grad():
            torch.testing.assert_close(wrapped(x), resnet18(x))
    assert isinstance(wrapped.head[1], nn.Flatten)  # inserted before the Linear head


def test_wrapper_holds_the_models_own_modules(resnet18):
    wrapped = lit_models.as_staged(resnet18, **TV_NAMES)
    assert wrapped.stages[2] is resnet18.layer3
    wrapped(torch.randn(2, 3, 32, 32)).sum().backward()
    assert resnet18.conv1.weight.grad is not None and resnet18.fc.weight.grad is not None


def test_measured_feature_info_matches_the_zoo_wrapper(resnet18):
    x = torch.randn(2, 3, 64, 64)
    wrapped = lit_models.as_staged(resnet18, **TV_NAMES, example_input=x)
    zoo = lit_models.create_model("resnet18")
    assert wrapped.feature_info == zoo.feature_info
    assert wrapped.input_size == (3, 64, 64)
    assert wrapped.example_input(3).shape == (3, 3, 64, 64)


def test_without_example_input_channels_come_from_modules_and_reduction_is_unknown(resnet18):
    wrapped = lit_models.as_staged(resnet18, **TV_NAMES)
    assert [i["num_chs"] for i in wrapped.feature_info] == [64, 128, 256, 512]
    assert all(i["reduction"] is None for i in wrapped.feature_info)
    with pytest.raises(ValueError, match="without example_input"):
        wrapped.example_input()


def test_dotted_names_and_lists_build_stages_from_parts_of_a_sequential():
    torch.manual_seed(0)
    vgg = tvm.vgg11(weights=None, num_classes=10)
    n = len(vgg.features)
    x = torch.randn(2, 3, 32, 32)
    wrapped = lit_models.as_staged(
        vgg, stem="features.0",
        stages=[[f"features.{i}" for i in range(1, 6)], [f"features.{i}" for i in range(6, n)]],
        head=["avgpool", "classifier"], example_input=x,
    )
    assert [(i["num_chs"], i["reduction"]) for i in wrapped.feature_info] == [(128, 4), (512, 32)]
    vgg.eval()
    wrapped.eval()
    with torch.no_grad():
        torch.testing.assert_close(wrapped(x), vgg(x))


class _SkipAcross(nn.Module):
    """Its forward is not the composition of its children (a skip jumps over both)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.b(self.a(x)) + x)


def test_model_whose_forward_is_not_the_composition_is_rejected():
    with pytest.raises(ValueError, match="does not reproduce model"):
        lit_models.as_staged(_SkipAcross(), stem=[], stages=["a", "b"], head="fc",
                             example_input=torch.randn(2, 4))


def test_overlapping_module_names_are_rejected(resnet18):
    with pytest.raises(ValueError, match=r"'layer1' and 'layer1\.0' overlap"):
        lit_models.as_staged(resnet18, stem="conv1", stages=["layer1", "layer1.0"], head="fc")


def test_wrapper_satisfies_lit_core_protocol(resnet18):
    staged = pytest.importorskip("lit_core.method.staged")
    wrapped = lit_models.as_staged(resnet18, **TV_NAMES)
    assert isinstance(wrapped, staged.StagedModel)
    assert isinstance(lit_models.create_model("resnet8"), staged.StagedModel)
