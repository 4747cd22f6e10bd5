"""TrainConfig (dict round trip, unknown keys, milestones) and model lookup by name."""

from __future__ import annotations

import pytest
import torch.nn as nn

import lit_core.models.build
from lit_core import TrainConfig, build_model
from lit_core.errors import ConfigError


def test_defaults_are_the_papers():
    cfg = TrainConfig(device="cpu")
    assert (cfg.momentum, cfg.weight_decay, cfg.lr, cfg.finetune_lr) == (0.9, 1e-4, 0.1, 0.01)
    assert (cfg.alpha, cfg.temperature, cfg.beta, cfg.gamma) == (0.95, 6.0, 0.75, 0.1)


def test_config_round_trips_through_a_plain_dict():
    cfg = TrainConfig(device="cpu", epochs=3, milestones=(2, 3), precision="bf16")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["milestones"] == [2, 3]


def test_unknown_config_key_is_named():
    with pytest.raises(ValueError, match="unknown training setting 'lr_max'; valid settings: epochs"):
        TrainConfig.from_dict({"lr_max": 0.1})
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, fp16; got 'fp8'"):
        TrainConfig(device="cpu", precision="fp8")


def test_mistyped_config_values_are_named():
    with pytest.raises(ValueError, match="epochs must be int; got '10'"):
        TrainConfig.from_dict({"epochs": "10"})
    with pytest.raises(ValueError, match="deterministic must be bool; got 1"):
        TrainConfig(device="cpu", deterministic=1)
    assert TrainConfig(device="cpu", lr=1).lr == 1  # an integer is a fine float


def test_milestones_as_fractions_or_epochs():
    assert TrainConfig(device="cpu", milestones=(0.5, 0.75)).milestone_epochs(200) == [100, 150]
    assert TrainConfig(device="cpu", milestones=(30, 60)).milestone_epochs(200) == [30, 60]


def test_build_model_through_the_entry_point_and_import_string():
    model = build_model("resnet8", num_classes=3)
    assert model.head[-1].out_features == 3
    assert isinstance(build_model("torch.nn:Linear", in_features=2, out_features=1), nn.Linear)
    with pytest.raises(ValueError, match="unknown model 'resnet9'"):
        build_model("resnet9")
    with pytest.raises(ValueError, match=r"cannot import model factory 'nosuchpkg\.mod:f'"):
        build_model("nosuchpkg.mod:f")


def test_build_model_without_a_zoo_says_what_to_install(monkeypatch):
    monkeypatch.setattr(lit_core.models.build, "entry_points", lambda group: [])
    with pytest.raises(ConfigError, match="pip install packages/lit-models"):
        build_model("resnet20")
