"""A zoo torchvision ResNet's weights (``stem``/``stages``/``head`` keys) load strictly into
torchvision's own class through ``lit_models.torchvision_state_dict`` and give the same logits."""

from __future__ import annotations

import pytest
import torch
import torchvision.models as tvm

import lit_models


@pytest.mark.parametrize(("name", "builder"), [("resnet18", tvm.resnet18), ("resnet50", tvm.resnet50)])
def test_zoo_resnet_weights_load_into_torchvision_and_agree(name, builder):
    torch.manual_seed(0)
    zoo = lit_models.create_model(name, num_classes=5).eval()
    with torch.no_grad():  # non-default BN statistics, so a dropped buffer would show
        for m in zoo.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    plain = builder(num_classes=5).eval()
    plain.load_state_dict(lit_models.torchvision_state_dict(zoo.state_dict()))  # strict
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), zoo(x))


def test_a_key_of_another_model_is_named():
    with pytest.raises(ValueError, match=r"'blocks\.0\.weight'"):
        lit_models.torchvision_state_dict({"blocks.0.weight": torch.zeros(1)})
