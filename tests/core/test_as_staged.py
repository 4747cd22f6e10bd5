"""as_staged (lit-core; lit_models re-exports it): a user's own model gets the stage interface by
module names, and its trained weights load back into the user's own class."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torchvision.models as tvm

import lit_core
import lit_models
from lit_core import as_staged, unwrap

TV_NAMES = {"stem": ["conv1", "bn1", "relu", "maxpool"],
            "stages": ["layer1", "layer2", "layer3", "layer4"],
            "head": ["avgpool", "fc"]}


@pytest.fixture
def resnet18():
    torch.manual_seed(0)
    return tvm.resnet18(weights=None, num_classes=10)


def test_wrapped_torchvision_resnet_reproduces_forward_in_train_and_eval(resnet18):
    x = torch.randn(2, 3, 64, 64)
    wrapped = as_staged(resnet18, **TV_NAMES, example_input=x)
    for training in (True, False):
        resnet18.train(training)
        wrapped.train(training)
        with torch.no_grad():
            torch.testing.assert_close(wrapped(x), resnet18(x))
    assert isinstance(wrapped.head[1], nn.Flatten)  # inserted before the Linear head


def test_wrapper_holds_the_models_own_modules(resnet18):
    wrapped = as_staged(resnet18, **TV_NAMES)
    assert wrapped.stages[2] is resnet18.layer3
    wrapped(torch.randn(2, 3, 32, 32)).sum().backward()
    assert resnet18.conv1.weight.grad is not None and resnet18.fc.weight.grad is not None


def test_measured_feature_info_matches_the_zoo_wrapper(resnet18):
    x = torch.randn(2, 3, 64, 64)
    wrapped = as_staged(resnet18, **TV_NAMES, example_input=x)
    zoo = lit_models.create_model("resnet18")
    assert wrapped.feature_info == zoo.feature_info
    assert wrapped.input_size == (3, 64, 64)
    assert wrapped.example_input(3).shape == (3, 3, 64, 64)


def test_without_example_input_channels_come_from_modules_and_reduction_is_unknown(resnet18):
    wrapped = as_staged(resnet18, **TV_NAMES)
    assert [i["num_chs"] for i in wrapped.feature_info] == [64, 128, 256, 512]
    assert all(i["reduction"] is None for i in wrapped.feature_info)
    with pytest.raises(ValueError, match="without example_input"):
        wrapped.example_input()


def test_dotted_names_and_lists_build_stages_from_parts_of_a_sequential():
    torch.manual_seed(0)
    vgg = tvm.vgg11(weights=None, num_classes=10)
    n = len(vgg.features)
    x = torch.randn(2, 3, 32, 32)
    wrapped = as_staged(
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
        as_staged(_SkipAcross(), stem=[], stages=["a", "b"], head="fc",
                             example_input=torch.randn(2, 4))


def test_overlapping_module_names_are_rejected(resnet18):
    with pytest.raises(ValueError, match=r"'layer1' and 'layer1\.0' overlap"):
        as_staged(resnet18, stem="conv1", stages=["layer1", "layer1.0"], head="fc")


def test_wrapper_satisfies_lit_core_protocol(resnet18):
    wrapped = as_staged(resnet18, **TV_NAMES)
    assert isinstance(wrapped, lit_core.StagedModel)
    assert isinstance(lit_models.create_model("resnet8"), lit_core.StagedModel)


def test_lit_models_as_staged_forwards_to_lit_core(resnet18):
    wrapped = lit_models.as_staged(resnet18, **TV_NAMES)
    assert type(wrapped) is lit_core.StagedWrapper
    assert wrapped.stages[0] is resnet18.layer1


def test_state_dict_keeps_the_original_keys_and_loads_strictly_into_torchvision(resnet18):
    wrapped = as_staged(resnet18, **TV_NAMES, example_input=torch.randn(2, 3, 32, 32))
    with torch.no_grad():
        wrapped.stages[1][0].conv1.weight.add_(1.0)  # a "trained" change, made through the wrapper
    state = wrapped.state_dict()
    assert list(state) == list(resnet18.state_dict())
    fresh = tvm.resnet18(weights=None, num_classes=10)
    fresh.load_state_dict(state)  # strict
    torch.testing.assert_close(fresh.layer2[0].conv1.weight, resnet18.layer2[0].conv1.weight)
    assert unwrap(wrapped) is resnet18


def test_checkpoint_written_by_fit_loads_into_torchvision_resnet18(tmp_path):
    torch.manual_seed(0)
    teacher = as_staged(tvm.resnet18(weights=None, num_classes=4), **TV_NAMES)
    student = as_staged(tvm.resnet18(weights=None, num_classes=4), **TV_NAMES)
    g = torch.Generator().manual_seed(0)
    data = [(torch.randn(4, 3, 32, 32, generator=g), torch.randint(0, 4, (4,), generator=g))]
    cfg = lit_core.TrainConfig(epochs=1, ir_epochs=1, device="cpu", progress=False)
    lit_core.fit(student, teacher, data, data, config=cfg, run_dir=tmp_path / "run")
    ckpt = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    plain = tvm.resnet18(weights=None, num_classes=4)
    plain.load_state_dict(ckpt["model"])  # strict, plain torch
    plain.eval()
    student.eval()
    with torch.no_grad():
        torch.testing.assert_close(plain(data[0][0]), student(data[0][0]))


def test_a_wrapper_inside_another_module_keeps_original_keys_under_its_prefix(resnet18):
    holder = nn.ModuleDict({"student": as_staged(resnet18, **TV_NAMES)})
    keys = list(holder.state_dict())
    assert keys[0] == "student.conv1.weight" and "student.fc.bias" in keys
    holder.load_state_dict(holder.state_dict())
