"""Compress only some stages of a classifier (``train.sections``): the others are the teacher's."""

from __future__ import annotations

import pytest
import torch
from lit_tiny import batches

from lit_core import TrainConfig, fit
from lit_core.errors import ConfigError
from lit_models import create_model


def _pair():
    torch.manual_seed(0)
    teacher = create_model("resnet20", img_size=8)  # 3 blocks per stage
    student = create_model("cifar_resnet", blocks=(3, 1, 3), img_size=8)  # stage 1 compressed
    return teacher, student


def test_only_the_listed_section_trains_and_the_other_stages_are_the_teachers(tmp_path):
    teacher, student = _pair()
    before = {k: v.clone() for k, v in student.state_dict().items()}
    cfg = TrainConfig(device="cpu", ir_epochs=2, epochs=0, lr=0.05, sections=("stages.1",), progress=False)
    result = fit(student, teacher, batches(2), batches(1), method="lit", config=cfg,
                 run_dir=tmp_path / "r")
    t, s = teacher.state_dict(), student.state_dict()
    for k in s:
        if k.startswith(("stem.", "head.", "stages.0.", "stages.2.")):
            assert torch.equal(s[k], t[k]), k  # copied, frozen (BN statistics too)
    trained = [k for k in s if k.startswith("stages.1.") and k.endswith("weight")]
    assert trained and any(not torch.equal(s[k], before[k]) for k in trained)
    assert {"stages.0", "stages.2"} <= {".".join(n.split(".")[:2]) for n in result.copied}


def test_a_stage_that_is_not_compressed_must_match_the_teachers_and_names_exist(tmp_path):
    teacher, student = _pair()
    cfg = TrainConfig(device="cpu", ir_epochs=1, epochs=0, sections=("stages.0",), progress=False)
    with pytest.raises(ConfigError, match=r"stages\.1 is not compressed but the student's differs"):
        fit(student, teacher, batches(1), batches(1), method="lit", config=cfg, run_dir=tmp_path / "a")
    cfg = TrainConfig(device="cpu", ir_epochs=1, epochs=0, sections=("stages.7",), progress=False)
    with pytest.raises(ConfigError, match=r"section 'stages\.7' does not exist; the model's stages are"):
        fit(student, teacher, batches(1), batches(1), method="lit", config=cfg, run_dir=tmp_path / "b")
    cfg = TrainConfig(device="cpu", ir_epochs=1, epochs=0, sections=("stages.1",), progress=False)
    with pytest.raises(ConfigError, match=r"train\.sections needs a method with IR losses at every"):
        fit(student, teacher, batches(1), batches(1), method="fitnets", config=cfg, run_dir=tmp_path / "c")
    assert not any((tmp_path / d).exists() for d in "abc")  # checked before anything is written
