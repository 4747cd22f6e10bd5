"""``data.loader = "stream"`` from the CLI: validated before anything is created."""

from __future__ import annotations

import pytest

from lit_core.app.runconfig import resolve_run_config
from lit_core.cli import main
from lit_core.errors import ConfigError


def _folder(root):
    """An (empty) image-folder layout: enough for validation, which runs before any data is read."""
    for split in ("train", "test"):
        for cls in ("a", "b"):
            (root / split / cls).mkdir(parents=True)
    return root


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("lit: error: ")
    return err[0]


def test_stream_settings_resolve(tmp_path):
    cfg = resolve_run_config("cpu", overrides=["data.loader=stream", "data.workers=0", "data.image_size=32",
                                               "data.name=folder", f"data.data_dir={tmp_path}"])
    assert (cfg.data.loader, cfg.data.workers, cfg.data.image_size) == ("stream", 0, 32)
    auto = resolve_run_config("cpu", overrides=["data.loader=stream", f"data.data_dir={_folder(tmp_path)}"])
    assert auto.data.name == "auto" and auto.data.loader == "stream"  # auto on a train/+test/ folder
    assert resolve_run_config("cpu").data.loader == "memory"


@pytest.mark.parametrize("override, needle", [
    ("data.loader=disk", 'data.loader must be "memory" or "stream"'),
    ("data.workers=-1", "data.workers must be a non-negative integer"),
    ("data.image_size=0", "data.image_size must be a positive integer"),
])
def test_bad_stream_settings_are_refused(override, needle):
    with pytest.raises(ConfigError, match=needle):
        resolve_run_config("cpu", overrides=[override])


@pytest.mark.parametrize("data", [["--data", "digits"], ["--data", "npz"], []])
def test_stream_needs_an_image_folder(tmp_path, capsys, data):
    rc = main(["compress", "--method", "scratch", "--out", str(tmp_path), "--run-name", "r", *data,
               "--set", "data.loader=stream"])
    assert rc == 2
    assert 'data.loader = "stream" reads image folders only' in _one_line(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cache", ["train.teacher_cache=bf16", "train.lit.teacher_cache=fp32"])
def test_teacher_cache_with_stream_exits_2_and_creates_nothing(tmp_path, capsys, cache):
    data = _folder(tmp_path / "imgs")
    out = tmp_path / "out"
    rc = main(["compress", "--method", "lit", "--data", "folder", "--data-dir", str(data), "--out", str(out),
               "--run-name", "r", "--set", "data.loader=stream", "--set", "data.augment=false", "--set", cache])
    assert rc == 2
    line = _one_line(capsys)
    assert "teacher_cache cannot run with data.loader" in line and "example index" in line
    assert not out.exists()


def test_stream_is_refused_before_training_until_wired(tmp_path, capsys):
    """A valid stream configuration stops with one line (not a silent in-memory load)."""
    data = _folder(tmp_path / "imgs")
    out = tmp_path / "out"
    rc = main(["compress", "--method", "scratch", "--data", "folder", "--data-dir", str(data),
               "--out", str(out), "--run-name", "r", "--set", "data.loader=stream"])
    assert rc == 2
    assert "not wired into training yet" in _one_line(capsys)
    assert not out.exists()
