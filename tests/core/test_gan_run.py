"""The whole GAN compression run on a tiny class-folder data set, and its checks before training."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import gan_image_folder
from gan_tiny import MODELS, discriminator, generator
from PIL import Image

from lit_core.data import DataError
from lit_core.gan import run, train_teacher
from lit_core.gan.data import load_domain_data
from lit_core.gan.teacher_files import save_teacher


def _config(data_dir, tmp_path, **over):
    small = {"iters": 2, "decay_iters": 1, "batch_size": 4, "n_critic": 1, "log_every": 1, "save_every": 10}
    cfg = {
        "task": "gan", "description": "tiny", "teacher_ckpt": str(tmp_path / "teacher.ckpt"),
        "data": {"name": "folder", "data_dir": str(data_dir), "image_size": 8},
        "models": {**MODELS, "teacher_blocks": [2], "student_blocks": [1], "sections": ["stages.0"]},
        "train": {**small, "teacher": {}, "lit": {"section_steps": 2, "finetune_iters": 2},
                  "l2": {"section_steps": 2, "finetune_iters": 0}, "scratch": {}},
        "eval": {"classifier_ckpt": str(tmp_path / "clf.ckpt"), "classifier_epochs": 1,
                 "kid_subset_size": 4, "grid_inputs": 2},
    }
    for key, value in over.items():
        table, name = key.split("__")
        cfg[table][name] = value
    return cfg


@pytest.mark.slow
def test_teacher_then_run_writes_table_grid_and_rows(tmp_path):
    data_dir = gan_image_folder(tmp_path / "data")
    cfg = _config(data_dir, tmp_path)
    path = train_teacher(cfg, tmp_path / "run", export=tmp_path / "teacher.ckpt")
    assert path.is_file() and (tmp_path / "run" / "teacher" / "record.json").is_file()
    rows = run(cfg, tmp_path / "run")
    methods = [r["method"] for r in rows]
    assert methods == ["teacher", "lit (IR only)", "lit", "l2 (output only)", "l2", "scratch", "rand init", "rand init"]
    assert [r["conv_layers"] for r in rows[:3]] == [10, 8, 8]  # 3 + 2·blocks + 3
    out = tmp_path / "run"
    assert (out / "grid.png").stat().st_size > 0
    table = (out / "table.md").read_text()
    assert "NOT Inception" in table and "| lit |" in table
    assert json.loads((out / "run.json").read_text())["sections"] == ["stages.0"]
    with pytest.raises(FileExistsError, match="already holds trained students"):
        run(cfg, out)
    again = run(cfg, out, resume=True)  # reuses the saved students
    assert [r["scores"]["translation_acc"] for r in again] == [r["scores"]["translation_acc"] for r in rows]


def _tiny_teacher(cfg, tmp_path):
    data = load_domain_data(cfg["data"])
    save_teacher(generator(data, [2]), discriminator(data), tmp_path / "teacher.ckpt",
                 models=cfg["models"], meta={})


def test_a_missing_section_fails_before_any_training(tmp_path):
    cfg = _config(gan_image_folder(tmp_path / "data"), tmp_path, models__sections=["stages.3"])
    _tiny_teacher(cfg, tmp_path)
    with pytest.raises(ValueError, match=r"section 'stages.3' does not exist"):
        run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_teacher_file_whose_keys_do_not_map_fails_before_training(tmp_path):
    import torch

    cfg = _config(gan_image_folder(tmp_path / "data"), tmp_path)
    torch.save({"encoder.weight": torch.zeros(1)}, tmp_path / "teacher.ckpt")
    with pytest.raises(ValueError, match=r"key 'encoder.weight' does not map onto a StarGAN generator"):
        run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_data_folder_without_domains_fails_before_training(tmp_path):
    (tmp_path / "flat").mkdir()
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "flat" / "0.png")
    cfg = _config(tmp_path / "flat", tmp_path)
    with pytest.raises(DataError):
        run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_unknown_settings_are_rejected_by_name(tmp_path):
    cfg = _config(tmp_path, tmp_path)
    cfg["train"]["lit"]["epochs"] = 3
    with pytest.raises(ValueError, match=r"unknown setting train.lit.epochs"):
        run(cfg, tmp_path / "run")


def test_command_line_reports_a_bad_section_in_one_error_line(tmp_path, capsys):
    from lit_core.cli import main

    cfg = _config(gan_image_folder(tmp_path / "data"), tmp_path)
    _tiny_teacher(cfg, tmp_path)
    lines = ['task = "gan"', f'teacher_ckpt = "{cfg["teacher_ckpt"]}"', "[data]", 'name = "folder"',
             f'data_dir = "{cfg["data"]["data_dir"]}"', "image_size = 8", "[models]",
             *[f"{k} = {v}" for k, v in MODELS.items()], "teacher_blocks = [2]", "student_blocks = [1]",
             'sections = ["stages.0"]']
    (tmp_path / "tiny.toml").write_text("\n".join(lines) + "\n")
    code = main(["run", "--config", str(tmp_path / "tiny.toml"), "--set",
                 'models.sections=["stages.2"]', "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == ["lit: error: section 'stages.2' does not exist; the generator's stages are stages.0"]
    assert not (tmp_path / "out").exists()


def test_lit_run_dispatches_a_gan_preset_and_reports_bad_input_in_one_line(tmp_path, capsys):
    from lit_core.cli import main

    args = ["run", "--preset", "gan-cpu", "--out", str(tmp_path), "--run-name", "g",
            "--set", "data.name=digits", "--set", "data.limit=200", "--set", "data.test_limit=50"]
    assert main([*args, "--set", 'models.sections=["stages.3"]']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "section 'stages.3' does not exist" in err[0]
    assert not (tmp_path / "g").exists()
    assert main([*args, "--teacher", "resnet8"]) == 2
    assert "--teacher do not apply to a GAN task" in capsys.readouterr().err
    assert main(["compare", "--preset", "gan-cpu", "--out", str(tmp_path)]) == 2
    assert "is a GAN task" in capsys.readouterr().err
