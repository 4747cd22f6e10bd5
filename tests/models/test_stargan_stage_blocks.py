"""StarGAN generator with explicit residual blocks per stage (compress one stage, keep another)."""

from __future__ import annotations

import pytest
import torch

import lit_models


def test_stage_blocks_sets_blocks_per_stage_and_keeps_the_stage_interface():
    g = lit_models.create_model("stargan_generator", img_size=16, conv_dim=4, stage_blocks=(3, 1))
    assert [len(s) for s in g.stages] == [3, 1] and g.num_blocks == 4 and g.stage_blocks == (3, 1)
    assert [i["module"] for i in g.feature_info] == ["stages.0", "stages.1"]
    x = g.example_input(2)
    assert g(x).shape == (2, 3, 16, 16)
    assert len(g.forward_stages(x)) == 2


def test_stage_blocks_rejects_empty_or_zero_stages():
    with pytest.raises(ValueError, match="stage_blocks needs one count >= 1 per stage"):
        lit_models.create_model("stargan_generator", img_size=16, stage_blocks=(2, 0))


def test_conv_layers_count_is_the_papers_18_and_10():
    def convs(blocks):
        g = lit_models.create_model("stargan_generator", img_size=16, conv_dim=4, num_blocks=blocks, num_stages=1)
        return sum(isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d) for m in g.modules())

    assert (convs(6), convs(2)) == (18, 10)
