"""``data.loader = "stream"`` from the CLI: a generated folder of mixed-size JPEGs/PNGs trains a
teacher and a student end to end; bad settings are one line before anything is created."""

from __future__ import annotations

import json
import os
import re
import socket

import numpy as np
import pytest
import torch
from cli_helpers import one_line_error
from PIL import Image
from stream_tiny import CLASSES, make_image_folder
from torchvision.transforms import functional as TF

from lit_core.app.runconfig import resolve_run_config
from lit_core.cli import main
from lit_core.errors import ConfigError

STREAM = ["--set", "data.loader=stream", "--set", "data.image_size=16", "--set", "data.workers=0",
          "--set", "train.batch_size=8", "--set", "data.eval_batch_size=8",
          "--teacher", "resnet8", "--student", "resnet8"]
EPOCHS = ["--set", "train.teacher.epochs=1", "--set", "train.lit.ir_epochs=1",
          "--set", "train.lit.epochs=1"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("imgs"))


def _empty_folder(root):
    """An (empty) image-folder layout: enough for validation, which runs before any data is read."""
    for split in ("train", "test"):
        for cls in ("a", "b"):
            (root / split / cls).mkdir(parents=True)
    return root


def _stats(paths, mode, size, resize):
    """Per-channel mean and std of the images at ``paths`` after resize + center crop, in [0, 1]."""
    xs = [TF.center_crop(TF.resize(TF.pil_to_tensor(Image.open(p).convert(mode)), resize), size)
          for p in paths]
    x = torch.stack(xs).double() / 255
    return x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3)).tolist()


def test_compare_streams_a_folder_through_teacher_and_student(folder, tmp_path):
    rc = main(["compare", "--methods", "lit", "--data", "folder", "--data-dir", str(folder),
               "--out", str(tmp_path), "--run-name", "r", *STREAM, *EPOCHS])
    assert rc == 0
    run = tmp_path / "r"
    summary = json.loads((run / "summary.json").read_text())
    assert "3×16×16 streamed" in json.dumps(summary, ensure_ascii=False)
    for job in ("teacher", "lit"):
        record = json.loads((run / job / "job.json").read_text())
        assert len(record["row"]["history"]) == (1 if job == "teacher" else 2)
        assert 0 <= record["row"]["test_acc"] <= 1
    meta = torch.load(run / "lit" / "best.pt", weights_only=True)["meta"]
    pre = meta["preprocessing"]
    assert (pre["input_shape"], pre["channels"], pre["class_names"]) == ([3, 16, 16], 3, list(CLASSES))
    assert (pre["loader"], pre["resize"], pre["crop"], pre["color_mode"], pre["scale"]) == (
        "stream", 18, 16, "RGB", 255.0)
    # the recorded statistics are those of the 18 training images (2 of 20 carved for val)
    from lit_core.app.session import load_run_data

    cfg = resolve_run_config("cpu", overrides=["data.loader=stream", "data.name=folder",
                                               f"data.data_dir={folder}", "data.image_size=16"])
    train_paths = [p for p, _ in load_run_data(cfg).train.samples]
    assert len(train_paths) == 18
    mean, std = _stats(train_paths, "RGB", 16, 18)
    assert pre["mean"] == pytest.approx(mean, abs=1e-4) and pre["std"] == pytest.approx(std, abs=1e-4)


def test_train_teacher_greyscale_and_evaluate(folder, tmp_path, capsys):
    grey = ["--set", "data.channels=1", "--set", "data.resize=20"]
    assert main(["train-teacher", "--data", "folder", "--data-dir", str(folder), "--out",
                 str(tmp_path), "--run-name", "t", *STREAM, *EPOCHS, *grey]) == 0
    ckpt = tmp_path / "t" / "teacher" / "best.pt"
    state = torch.load(ckpt, weights_only=True)
    pre = state["meta"]["preprocessing"]
    assert (pre["input_shape"], pre["channels"], pre["color_mode"], pre["resize"]) == ([1, 16, 16], 1, "L", 20)
    assert len(pre["mean"]) == len(pre["std"]) == 1
    stem = next(v for k, v in state["model"].items() if v.ndim == 4)
    assert stem.shape[1] == 1  # the model was built for one input channel
    capsys.readouterr()
    assert main(["evaluate", str(ckpt), "--data", "folder", "--data-dir", str(folder),
                 *STREAM[:6], *grey]) == 0
    out = capsys.readouterr().out
    assert "val" in out and "(2), test" in out and "(8);" in out  # 2 val images, 8 test images


def test_seeds_study_streams_too(folder, tmp_path):
    """``--seeds`` (like sweep, search and prune) trains through the same session and loaders."""
    assert main(["compare", "--methods", "kd", "--seeds", "0,1", "--data", "folder", "--data-dir",
                 str(folder), "--out", str(tmp_path), "--run-name", "s", *STREAM, *EPOCHS,
                 "--set", "train.kd.epochs=1"]) == 0
    rows = json.loads((tmp_path / "s" / "seeds.json").read_text())
    rows = rows["rows"] if "rows" in rows else rows["seeds"]
    assert sorted((r["method"], r["seed"]) for r in rows) == [("kd", 0), ("kd", 1)]
    pre = torch.load(next((tmp_path / "s" / "jobs").glob("*/best.pt")), weights_only=True)["meta"]["preprocessing"]
    assert pre["loader"] == "stream" and pre["input_shape"] == [3, 16, 16]


def test_an_unreadable_training_image_is_one_line_and_creates_nothing(folder, tmp_path, capsys):
    bad = tmp_path / "imgs"
    make_image_folder(bad)
    for i in range(3):  # at most one of them is carved into the validation split
        (bad / "train" / "cat" / f"broken{i}.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    rc = main(["compress", "--method", "scratch", "--data", "folder", "--data-dir", str(bad),
               "--out", str(out), "--run-name", "r", *STREAM, "--set", "data.workers=2"])
    assert rc == 2
    line = one_line_error(capsys)  # read by a worker process, reported as the one line
    assert "cannot read" in line and "broken" in line
    assert not out.exists()  # found while measuring mean/std, before the run directory


def test_a_training_image_over_the_per_image_cap_is_one_line_and_creates_nothing(tmp_path, capsys,
                                                                                   monkeypatch):
    imgs = make_image_folder(tmp_path / "imgs")
    Image.new("RGB", (2000, 2000)).save(imgs / "train" / "dog" / "huge.png")  # 4 MP in a few kB
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.05")
    out = tmp_path / "out"
    rc = main(["compress", "--method", "scratch", "--data", "folder", "--data-dir", str(imgs),
               "--out", str(out), "--run-name", "r", *STREAM, "--set", "train.scratch.epochs=1"])
    assert rc == 2
    line = one_line_error(capsys)
    assert "huge.png (2000×2000 pixels) needs 64 MB of memory" in line and "LIT_DATA_MEMORY_GB" in line
    assert not out.exists()  # found while measuring mean/std, before the run directory


def test_an_unreadable_test_image_stops_the_run_in_one_line(tmp_path, capsys):
    bad = tmp_path / "imgs"
    make_image_folder(bad)
    (bad / "test" / "dog" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    rc = main(["compress", "--method", "scratch", "--data", "folder", "--data-dir", str(bad),
               "--out", str(tmp_path / "out"), "--run-name", "r", *STREAM,
               "--set", "train.scratch.epochs=1"])
    assert rc == 2  # found when the test split is read, after training (streamed: files are
    line = one_line_error(capsys)  # read when a batch needs them)
    assert "cannot read" in line and "broken.jpg" in line


def test_stream_settings_resolve(tmp_path):
    cfg = resolve_run_config("cpu", overrides=["data.loader=stream", "data.workers=0", "data.image_size=32",
                                               "data.name=folder", f"data.data_dir={tmp_path}"])
    assert (cfg.data.loader, cfg.data.workers, cfg.data.image_size) == ("stream", 0, 32)
    auto = resolve_run_config("cpu", overrides=["data.loader=stream", f"data.data_dir={_empty_folder(tmp_path)}"])
    assert auto.data.name == "auto" and auto.data.loader == "stream"  # auto on a train/+test/ folder
    assert resolve_run_config("cpu").data.loader == "memory"


@pytest.mark.parametrize("overrides, needle", [
    (["data.loader=disk"], 'data.loader must be "memory" or "stream"'),
    (["data.workers=-1"], "data.workers must be a non-negative integer"),
    (["data.image_size=0"], "data.image_size must be a positive integer"),
    (["data.image_size=32"], 'data.image_size applies to data.loader = "stream"'),
    (["data.channels=3"], 'data.channels applies to data.loader = "stream"'),
    (["data.loader=stream", "data.name=folder", "data.channels=2"], "data.channels must be 3 (RGB) or 1"),
    (["data.loader=stream", "data.name=folder", "data.image_size=32", "data.resize=24"],
     "data.resize (24) must be at least data.image_size (32)"),
])
def test_bad_stream_settings_are_refused(overrides, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        resolve_run_config("cpu", overrides=overrides)


@pytest.mark.parametrize("data", [["--data", "digits"], ["--data", "npz"], []])
def test_stream_needs_an_image_folder(tmp_path, capsys, data):
    rc = main(["compress", "--method", "scratch", "--out", str(tmp_path), "--run-name", "r", *data,
               "--set", "data.loader=stream"])
    assert rc == 2
    assert 'data.loader = "stream" reads image folders only' in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_stream_folder_without_data_dir_is_one_line(tmp_path, capsys):
    rc = main(["compress", "--method", "scratch", "--data", "folder", "--out", str(tmp_path / "o"),
               "--set", "data.loader=stream"])
    assert rc == 2
    assert "needs the image folder: pass --data-dir" in one_line_error(capsys)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("cache", ["train.teacher_cache=bf16", "train.lit.teacher_cache=fp32"])
def test_teacher_cache_with_stream_exits_2_and_creates_nothing(tmp_path, capsys, cache):
    data = _empty_folder(tmp_path / "imgs")
    out = tmp_path / "out"
    rc = main(["compress", "--method", "lit", "--data", "folder", "--data-dir", str(data), "--out", str(out),
               "--run-name", "r", "--set", "data.loader=stream", "--set", "data.augment=false", "--set", cache])
    assert rc == 2
    line = one_line_error(capsys)
    assert "teacher_cache cannot run with data.loader" in line and "example index" in line
    assert not out.exists()


def test_limits_subsample_a_streamed_folder(folder):
    from lit_core.app.session import load_run_data

    cfg = resolve_run_config("cpu", overrides=["data.loader=stream", "data.name=folder", "data.limit=10",
                                               "data.test_limit=4", f"data.data_dir={folder}"])
    data = load_run_data(cfg)
    assert (len(data.train) + len(data.val), len(data.test)) == (10, 4)
    labels = [y for _, y in data.test.samples]
    assert sorted(np.bincount(labels).tolist()) == [2, 2]  # stratified


def test_the_memory_loader_on_mixed_sizes_points_to_streaming(folder, tmp_path, capsys):
    rc = main(["compress", "--method", "scratch", "--data", "folder", "--data-dir", str(folder),
               "--out", str(tmp_path / "o"), "--run-name", "r"])
    assert rc == 2
    line = one_line_error(capsys)
    assert "differ in size" in line and "data.loader=stream" in line
    assert not (tmp_path / "o").exists()


def _ddp_worker(rank: int, world: int, port: int, argv: list[str], out: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world))  # what torchrun sets
    rc = main(argv)
    with open(f"{out}/rc{rank}", "w") as f:
        f.write(str(rc))


@pytest.mark.distributed
def test_two_gloo_processes_train_from_a_streamed_folder(folder, tmp_path, capsys):
    """Under DDP (2 gloo processes, each reading its shard: test_data_stream.py checks the
    shards) the run finishes and records the accuracies one process measures on its model."""
    import torch.multiprocessing as mp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ["compress", "--method", "scratch", "--data", "folder", "--data-dir", str(folder),
            "--out", str(tmp_path), "--run-name", "r", "--device", "cpu", *STREAM,
            "--set", "train.scratch.epochs=1"]
    mp.spawn(_ddp_worker, args=(2, port, argv, str(tmp_path)), nprocs=2, join=True)
    assert [(tmp_path / f"rc{r}").read_text() for r in (0, 1)] == ["0", "0"]
    row = json.loads((tmp_path / "r" / "scratch" / "job.json").read_text())["row"]
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "r" / "scratch" / "best.pt"), "--data", "folder",
                 "--data-dir", str(folder), *STREAM[:6]]) == 0
    val, test = map(float, re.search(r"val ([\d.]+)% \(2\), test ([\d.]+)% \(8\)",
                                     capsys.readouterr().out).groups())
    assert (100 * row["val_acc"], 100 * row["test_acc"]) == (pytest.approx(val, abs=0.01),
                                                              pytest.approx(test, abs=0.01))


def test_a_streamed_folder_fingerprint_follows_its_files_not_its_place(folder, tmp_path):
    import shutil

    from lit_core.app.fingerprint import data_fingerprint, fingerprint_diff
    from lit_core.app.session import load_run_data

    def fingerprint(root):
        cfg = resolve_run_config("cpu", overrides=["data.loader=stream", "data.name=folder",
                                                   f"data.data_dir={root}", "data.image_size=16"])
        return data_fingerprint(cfg, load_run_data(cfg))

    moved = tmp_path / "moved"
    shutil.copytree(folder, moved)
    assert fingerprint_diff(fingerprint(folder), fingerprint(moved)) == []  # the same files elsewhere
    extra = next((moved / "train" / CLASSES[0]).iterdir())
    shutil.copy(extra, extra.with_name("extra" + extra.suffix))
    assert any(d.startswith("content sha256") for d in fingerprint_diff(fingerprint(folder), fingerprint(moved)))
