"""Presets and overrides: every shipped preset resolves; ``--set`` parses TOML values."""

from __future__ import annotations

import pytest

from lit_core.app.presets import apply_override, list_presets, load_preset
from lit_core.app.runconfig import resolve_run_config
from lit_core.errors import ConfigError
from lit_core.method.methods import METHODS


@pytest.mark.parametrize("name", ["cpu", "paper", "gpu"])
def test_shipped_presets_are_valid_for_every_job(name):
    cfg = resolve_run_config(name)
    for job in ["teacher", *cfg.methods]:
        cfg.job(job)
    assert set(cfg.methods) <= set(METHODS)


def test_paper_preset_is_the_papers_setting():
    cfg = resolve_run_config("paper")
    assert (cfg.models.teacher, cfg.models.student, cfg.data.name) == (
        "resnet110", "resnet20", "cifar10")
    lit = cfg.job("lit")
    assert (lit.ir_epochs, lit.epochs, lit.lr, lit.finetune_lr) == (175, 125, 0.1, 0.01)
    assert (lit.alpha, lit.temperature, lit.beta) == (0.95, 6.0, 0.75)
    # the paper's code decays LIT at epoch 100 of 175 and the fine-tuning at epoch 55 of 125
    assert lit.milestone_epochs(175) == [100]
    assert lit.milestone_epochs(125, finetune=True) == [55]
    assert (lit.batch_size, lit.momentum, lit.weight_decay) == (32, 0.9, 1e-4)


def test_list_presets_has_the_shipped_ones():
    assert {"cpu", "paper"} <= set(list_presets())


def test_overrides_parse_toml_values_and_nest():
    cfg = apply_override({}, "train.lit.epochs=3")
    cfg = apply_override(cfg, "train.milestones=[0.5, 0.9]")
    cfg = apply_override(cfg, "models.student=resnet14")  # not TOML: kept as a string
    cfg = apply_override(cfg, "train.deterministic=true")
    assert cfg == {"train": {"lit": {"epochs": 3}, "milestones": [0.5, 0.9], "deterministic": True},
                   "models": {"student": "resnet14"}}
    run = resolve_run_config("cpu", overrides=["train.lit.epochs=3", "models.student=resnet14"])
    assert run.job("lit").epochs == 3 and run.job("kd").epochs != 3
    assert run.models.student == "resnet14"


@pytest.mark.parametrize(("override", "needle"), [
    ("nonsense", "KEY=VALUE"),
    ("data.colour=1", "data.colour"),
    ("extra.x=1", "extra"),
])
def test_bad_overrides_name_the_problem(override, needle):
    with pytest.raises(ConfigError, match=needle):
        resolve_run_config("cpu", overrides=[override])


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(ConfigError, match="cpu"):
        load_preset("nope")
