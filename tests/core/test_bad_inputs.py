"""Hostile and mistaken inputs to ``lit``: one ``lit: error:`` line, exit 2, nothing created,
and never any code run from a file. Each case is a row of docs/bad-inputs.md."""

from __future__ import annotations

import json

import pytest
import torch
from cli_helpers import one_line_error

from lit_core.cli import main
from lit_core.io.checkpoint import save_atomic
from lit_core.models import build_model

TINY = ["--data", "digits", "--set", "data.limit=300", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400"]
ONE_EPOCH = ["--set", "train.teacher.epochs=1", "--set", "train.lit.ir_epochs=1",
             "--set", "train.lit.epochs=0", "--set", "train.kd.epochs=1",
             "--set", "train.scratch.epochs=1", "--teacher", "resnet8", "--student", "resnet8"]


def _digits_state(name="resnet8"):
    return build_model(name, num_classes=10, in_chans=1).state_dict()


# --------------------------------------------------------------------------- security


HOSTILE_MODULE = """
import pathlib
MARKER = pathlib.Path(__file__).with_name("PWNED")
def build(**kwargs):
    MARKER.write_text("code from a checkpoint ran")
    import torch.nn as nn
    return nn.Linear(1, 1)
"""


@pytest.mark.parametrize("command", ["evaluate", "compress"])
@pytest.mark.parametrize("builder", ["evil_builder:build", "torch.hub:load"])
def test_a_checkpoint_cannot_choose_code_to_run(tmp_path, capsys, monkeypatch, command, builder):
    (tmp_path / "evil_builder.py").write_text(HOSTILE_MODULE)
    (tmp_path / "hubconf.py").write_text(HOSTILE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    ckpt = tmp_path / "teacher.pt"
    save_atomic({"model": _digits_state(), "meta": {
        "model": builder, "model_kwargs": {"repo_or_dir": str(tmp_path), "model": "build",
                                           "source": "local"}}}, ckpt)
    if command == "evaluate":
        argv = ["evaluate", str(ckpt), *TINY]
    else:
        argv = ["compress", "--method", "kd", "--teacher-ckpt", str(ckpt), "--out",
                str(tmp_path / "out"), *TINY]
    assert main(argv) == 2
    line = one_line_error(capsys)
    assert "registered" in line and builder in line
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "out").exists()


def test_a_builder_on_the_users_own_command_line_still_works(tmp_path, capsys, monkeypatch):
    (tmp_path / "my_models.py").write_text(
        "from lit_models import create_model\n"
        "def small(**kw):\n    return create_model('resnet8', **kw)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ckpt = tmp_path / "m.pt"
    save_atomic({"model": _digits_state(), "meta": {"model": "my_models:small"}}, ckpt)
    assert main(["evaluate", str(ckpt), "--model", "my_models:small", *TINY]) == 0
    assert "test" in capsys.readouterr().out


# --------------------------------------------------------------------------- checkpoints


def _bad_checkpoints(tmp_path):
    good = tmp_path / "good.pt"
    save_atomic({"model": _digits_state(), "meta": {"model": "resnet8"}}, good)
    raw = good.read_bytes()
    files = {
        "empty": b"",
        "truncated": raw[: len(raw) // 2],
        "text": b"this is not a checkpoint\n",
        "corrupt": raw[:200] + bytes(300) + raw[500:],
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.pt"
        paths[name].write_bytes(data)
    paths["not-a-dict"] = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], paths["not-a-dict"])
    paths["pickled-object"] = tmp_path / "obj.pt"
    torch.save({"model": _digits_state(), "meta": {"model": "resnet8"}, "x": torch.nn.ReLU()},
               paths["pickled-object"])
    paths["directory"] = tmp_path
    return paths


@pytest.mark.parametrize("kind", ["empty", "truncated", "text", "corrupt", "not-a-dict",
                                  "pickled-object", "directory"])
def test_evaluate_a_broken_checkpoint_is_one_line(tmp_path, capsys, kind):
    path = _bad_checkpoints(tmp_path)[kind]
    assert main(["evaluate", str(path), *TINY]) == 2
    assert str(path) in one_line_error(capsys)


@pytest.mark.parametrize(("kind", "says"), [
    ("json", "is not a torch checkpoint (not a torch.save file)"),
    ("pickled-object", "plain types (it holds torch.nn.modules.activation.ReLU) and was not loaded"),
])
def test_a_foreign_checkpoint_is_named_and_never_advises_unsafe_loading(tmp_path, capsys, kind, says):
    path = tmp_path / "job.json"
    path.write_text('{"row": {"job": "kd"}}\n')  # e.g. a job record given for best.pt
    path = path if kind == "json" else _bad_checkpoints(tmp_path)[kind]
    assert main(["evaluate", str(path), *TINY]) == 2
    err = one_line_error(capsys)
    assert says in err
    assert "weights_only" not in err and "\x1b" not in err  # torch's text: load unsafely; ANSI codes


def test_resume_with_a_broken_last_checkpoint_is_one_line(tmp_path, capsys):
    args = ["compress", "--method", "scratch", "--student", "resnet8", "--out", str(tmp_path),
            "--run-name", "r", "--set", "train.scratch.epochs=1", *TINY]
    assert main(args) == 0
    last = tmp_path / "r" / "scratch" / "last.pt"
    (tmp_path / "r" / "scratch" / "job.json").unlink()  # as if killed before the job finished
    last.write_bytes(last.read_bytes()[:100])
    capsys.readouterr()
    assert main([*args, "--resume"]) == 2
    assert "last.pt" in one_line_error(capsys)


@pytest.mark.parametrize("content", ["{bad", "[1, 2]", '{"row": {"job": "scratch"}}'])
def test_resume_with_a_corrupt_job_record_is_one_line(tmp_path, capsys, content):
    args = ["compress", "--method", "scratch", "--student", "resnet8", "--out", str(tmp_path),
            "--run-name", "r", "--set", "train.scratch.epochs=1", *TINY]
    assert main(args) == 0
    record = tmp_path / "r" / "scratch" / "job.json"
    record.write_text(content)
    capsys.readouterr()
    assert main([*args, "--resume"]) == 2
    line = one_line_error(capsys)
    assert str(record) in line and "delete" in line
    assert record.read_text() == content  # nothing overwritten


@pytest.mark.parametrize("content", ["{bad", "[1, 2]", '{"row": {"job": "scratch"}}'])
def test_a_corrupt_job_record_is_refused_before_resume_trains_anything(tmp_path, capsys, content):
    """A later job's corrupt job.json was read only when its turn came: --resume first trained
    the jobs before it (here kd, killed before it started), then stopped with the error."""
    args = ["compare", "--methods", "kd,scratch", "--out", str(tmp_path), "--run-name", "r",
            *TINY, *ONE_EPOCH]
    assert main(args) == 0
    run = tmp_path / "r"
    for path in sorted((run / "kd").rglob("*"), reverse=True):  # kd never ran
        path.rmdir() if path.is_dir() else path.unlink()
    (run / "kd").rmdir()
    record = run / "scratch" / "job.json"
    record.write_text(content)
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main([*args, "--resume"]) == 2
    line = one_line_error(capsys)
    assert str(record) in line and "delete" in line
    assert not (run / "kd").exists()  # nothing trained
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("content", ["{bad", "[1, 2]", b"\xff\xfe"])
def test_resume_with_a_corrupt_study_state_is_one_line(tmp_path, capsys, content):
    state = tmp_path / "r" / "state.json"
    state.parent.mkdir()
    if isinstance(content, bytes):
        state.write_bytes(content)
    else:
        state.write_text(content)
    args = ["sweep", "--method", "scratch", "--grid", "train.beta=0.5,0.6", "--out", str(tmp_path),
            "--run-name", "r", "--resume", "--set", "train.teacher.epochs=1", *TINY]
    assert main(args) == 2
    line = one_line_error(capsys)
    assert str(state) in line and "delete it" in line


@pytest.mark.parametrize("study", [
    ["sweep", "--method", "kd", "--grid", "train.beta=0.5,0.6"],
    ["compare", "--methods", "kd", "--seeds", "0,1"],
])
def test_a_corrupt_study_state_is_refused_before_the_teacher_trains(tmp_path, capsys, study):
    """The study's state.json used to be read after the shared teacher trained (and after
    config.json was written): the error came minutes late, in a run directory it had changed."""
    run = tmp_path / "r"
    run.mkdir()
    (run / "state.json").write_text('{"study": {"kind": "sweep"}, "jobs": {"a')  # torn
    args = [*study, "--out", str(tmp_path), "--run-name", "r", "--resume", *TINY, *ONE_EPOCH]
    assert main(args) == 2
    line = one_line_error(capsys)
    assert str(run / "state.json") in line and "not valid JSON" in line
    assert sorted(p.name for p in run.iterdir()) == ["state.json"]  # no teacher, no config.json
    assert not list((tmp_path / "r").glob("beta=*"))  # no sweep job started


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(("setting", "needle"), [
    ("data.limit=-5", "data.limit must be a positive integer"),
    ("data.limit=0", "data.limit must be a positive integer"),
    ("data.limit=abc", "got 'abc'"),
    ("data.eval_batch_size=0", "data.eval_batch_size must be a positive integer"),
    ("data.val_fraction=1.5", "data.val_fraction"),
    ("train.temperature=inf", "temperature (tau) must be a finite number"),
    ("train.momentum=5", "momentum must be in [0, 1)"),
    ("train.weight_decay=-1", "weight_decay must be >= 0"),
    ("train.lit.lr=nan", "lr must be a finite number"),
    ('run.methods="nosuch"', "run.methods must be a non-empty list of method names"),
    ('run.methods=["lit", "nosuch"]', "unknown method 'nosuch'"),
    ("models.teacher_kwargs=5", "models.teacher_kwargs must be a table"),
    ("train=5", "train must be a table"),
    ("train.distill.epochs=1", "unknown job table [train.distill]"),
    ("train.sync_bn=true", "train.sync_bn needs CUDA devices"),
    ("train.lit.ir_loss_scale=0", "ir_loss_scale must be a finite number > 0"),
    ("models.teacher_kwargs.num_classes=5",
     "models.teacher_kwargs does not fit digits: num_classes=5 (the data has 10)"),
    ("models.student_kwargs.in_chans=3",
     "models.student_kwargs does not fit digits: in_chans=3 (the data has 1)"),
])
def test_bad_settings_fail_before_anything_is_created(tmp_path, capsys, setting, needle):
    assert main(["run", "--out", str(tmp_path), "--run-name", "r", *TINY, "--set", setting]) == 2
    assert needle in one_line_error(capsys)
    assert not (tmp_path / "r").exists()


def test_image_model_on_text_like_arguments_is_explained(tmp_path, capsys):
    # a VDCNN (text model) asked to be built for image data
    assert main(["run", "--out", str(tmp_path), "--run-name", "r", "--teacher", "vdcnn9",
                 *TINY]) == 2
    line = one_line_error(capsys)
    assert "vdcnn9" in line and "cannot be built for image data (digits)" in line and "in_chans" in line
    assert not (tmp_path / "r").exists()


def test_image_model_on_text_data_is_explained(tmp_path, capsys):
    rows = [f'"{1 + i % 2}","{"good" if i % 2 else "bad"} review number {i}"' for i in range(40)]
    for name in ("train.csv", "test.csv"):
        (tmp_path / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["run", "--out", str(tmp_path / "o"), "--run-name", "r", "--data", "csv",
                 "--data-dir", str(tmp_path), "--set", "data.seq_len=32",
                 "--teacher", "resnet8", "--student", "resnet8"]) == 2
    line = one_line_error(capsys)
    assert "cannot be built for text data (csv)" in line and "resnet8" in line
    assert not (tmp_path / "o").exists()


def test_a_factory_that_returns_no_module_is_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "bad_factory.py").write_text("def build(**kw):\n    return 'not a model'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["run", "--out", str(tmp_path), "--run-name", "r", "--teacher",
                 "bad_factory:build", *TINY]) == 2
    assert "returned a str, not a torch.nn.Module" in one_line_error(capsys)


@pytest.mark.parametrize("kind", ["directory", "non-utf8", "train-not-a-table", "missing"])
def test_bad_config_files_are_one_line(tmp_path, capsys, kind):
    path = {"directory": tmp_path, "missing": tmp_path / "nope.toml"}.get(kind, tmp_path / "c.toml")
    if kind == "non-utf8":
        path.write_bytes('description = "caf\xe9"\n'.encode("latin-1"))
    elif kind == "train-not-a-table":
        path.write_text("train = 3\n")
    assert main(["run", "--out", str(tmp_path / "o"), "--config", str(path), "--data", "digits"]) == 2
    line = one_line_error(capsys)
    assert str(path) in line or "train must be a table" in line
    assert not (tmp_path / "o").exists()


def test_out_pointing_to_a_file_is_one_line(tmp_path, capsys):
    out = tmp_path / "results.txt"
    out.write_text("precious")
    assert main(["run", "--out", str(out), "--run-name", "r", *TINY]) == 2
    assert "is a file, not a directory" in one_line_error(capsys)
    assert out.read_text() == "precious"


# --------------------------------------------------------------------------- resume


def test_resume_refuses_changed_settings_and_names_them(tmp_path, capsys):
    base = ["run", "--out", str(tmp_path), "--run-name", "r", *TINY, *ONE_EPOCH]
    assert main(base) == 0
    before = (tmp_path / "r" / "config.json").read_text()
    capsys.readouterr()
    changed = [*base, "--resume", "--set", "train.kd.lr=0.5", "--set", "data.limit=200"]
    assert main(changed) == 2
    line = one_line_error(capsys)
    assert "data.limit" in line and "train.kd.lr" in line and "--allow-config-change" in line
    assert (tmp_path / "r" / "config.json").read_text() == before  # nothing overwritten
    # the run's own settings: nothing to repeat on the command line
    assert main(["run", "--out", str(tmp_path), "--run-name", "r", "--resume"]) == 0
    assert capsys.readouterr().out.count("finished earlier") == 4
    # asked for explicitly: accepted, the old record kept beside the new one
    assert main([*changed, "--allow-config-change"]) == 0
    stored = json.loads((tmp_path / "r" / "config.json").read_text())["config"]
    assert stored["data"]["limit"] == 200
    assert len(list((tmp_path / "r").glob("config.*.json"))) == 1


# --------------------------------------------------------------------------- found before the run


@pytest.mark.parametrize(("argv", "needle"), [
    (["run", "--seeds", "0,0"], "--seeds must be distinct"),
    (["run", "--seeds", "-1"], "--seeds must be integers in 0..2**63-1"),
    (["run", "--seeds", str(2**64)], "--seeds must be integers in 0..2**63-1"),
    (["sweep", "--grid", "train.beta=0.5,0.5"], "--grid train.beta repeats a value"),
    (["sweep", "--method", "scratch", "--grid", "train.momentum=0.5,5"],
     "--grid train.momentum=5: [train] momentum must be in [0, 1)"),
    (["search", "--trials", "0"], "--trials must be >= 1"),
    (["search", "--storage", "garbage://x"], "--storage 'garbage://x' is not a database URL"),
    (["search", "--storage", "sqlite:////nonexistent/dir/x.db"],
     "folder /nonexistent/dir does not exist"),
    (["prune", "--sparsities", "0.5,0.5"], "--sparsities must be distinct"),
    (["run", "--set", f"train.seed={2**64}"], "seed must be an integer in 0..2**63-1"),
    (["run", "--set", "data.seed=-1"], "data.seed must be an integer in 0..2**32-1"),
    (["run", "--set", f"train.teacher.epochs={10**30}"], "epochs must be in 0..1000000"),
    (["run", "--set", "train.milestones=[0.5, 2]"], "milestones mixes fractions (< 1) and epoch"),
    (["run", "--device", "meta"], "device 'meta' cannot train a model"),
    (["run", "--set", 'train.lit.sections=["stages.7"]'],
     "section 'stages.7' does not exist; the model's stages are stages.0, stages.1, stages.2"),
    (["run", "--set", "train.tensorboard=true"], "needs the tensorboard package"),
    (["run", "--set", 'train.precision="fp16"', "--device", "cpu"],
     "precision fp16 needs a CUDA device"),
    (["compare", "--methods", "kd,lit_block_ir", "--set", 'train.teacher_cache="fp32"',
      "--set", "data.augment=false"], "method 'lit_block_ir' compares blocks"),
])
def test_bad_study_and_run_arguments_fail_before_anything_is_created(tmp_path, capsys, argv,
                                                                     needle):
    if "tensorboard" in needle:
        import importlib.util  # the case only exists where tensorboard is absent
        if importlib.util.find_spec("tensorboard") is not None:
            pytest.skip("tensorboard is installed here")
    args = [*argv[:1], "--out", str(tmp_path / "o"), "--run-name", "r", *TINY, *ONE_EPOCH,
            *argv[1:]]
    assert main(args) == 2
    assert needle in one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_cuda_without_a_gpu_is_one_line(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert main(["run", "--out", str(tmp_path / "o"), "--run-name", "r", *TINY, *ONE_EPOCH,
                 "--device", "cuda"]) == 2
    assert "no CUDA GPU is available here" in one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_a_run_name_longer_than_a_file_name_is_one_line(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "o"), "--run-name", "x" * 300, *TINY,
                 *ONE_EPOCH]) == 2
    assert "--run-name is 300 bytes long" in one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_16bit_png_is_scaled_not_saturated(tmp_path):
    """A 16-bit greyscale PNG maps 0..65535 onto 0..255 (it used to clip: most pixels became 255)."""
    import numpy as np
    from PIL import Image

    from lit_core.data.sources import read_image_folder

    ramp = (np.arange(64, dtype=np.uint32).reshape(8, 8) * 1040).astype(np.uint16)  # 0..65520
    for split in ("train", "test"):
        for cls in ("a", "b"):
            d = tmp_path / split / cls
            d.mkdir(parents=True)
            Image.fromarray(ramp).save(d / "x.png")
    raw = read_image_folder(tmp_path)
    img = raw.train_images[0]  # readers keep uint8; finalise_splits scales to [0, 1]
    assert img.dtype == np.uint8
    assert img.shape == (3, 8, 8)
    expected = ((ramp.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    assert (img[0] == expected).all() and (img[1] == expected).all()
    assert (img == 255).mean() < 0.05


def test_image_folder_symlink_loop_is_refused(tmp_path):
    """A folder symlinked into itself used to multiply a class (each image read many times)."""
    import numpy as np
    from PIL import Image

    from lit_core.data.errors import DataError
    from lit_core.data.sources import read_image_folder

    for split in ("train", "test"):
        for cls in ("a", "b"):
            d = tmp_path / split / cls
            d.mkdir(parents=True)
            Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(d / "x.png")
    (tmp_path / "train" / "a" / "loop").symlink_to(tmp_path / "train" / "a", target_is_directory=True)
    with pytest.raises(DataError, match="distinct files"):
        read_image_folder(tmp_path)


def test_prune_born_again_prunes_the_teachers_architecture(tmp_path, capsys):
    """born_again trains the teacher's architecture whatever --student says (as compare does);
    prune used to load its best.pt into the --student model and fail after training."""
    argv = ["prune", "--methods", "born_again", "--sparsities", "0.5", "--retrain-epochs", "1",
            "--out", str(tmp_path), "--run-name", "r", *TINY, "--teacher", "resnet8",
            "--student", "resnet14", "--set", "train.teacher.epochs=1",
            "--set", "train.born_again.epochs=1"]
    assert main(argv) == 0
    rows = json.loads((tmp_path / "r" / "prune.json").read_text())["rows"]
    from lit_core.models.pruning import count_nonzero

    assert [r["model"] for r in rows] == ["born_again", "born_again"]
    def size(name):
        return sum(t.numel() for t in build_model(name, num_classes=10, in_chans=1).state_dict().values())

    assert count_nonzero(build_model("resnet8", num_classes=10, in_chans=1)) \
        <= rows[0]["nonzero_params"] <= size("resnet8") < count_nonzero(
            build_model("resnet14", num_classes=10, in_chans=1))


def test_a_storage_url_whose_driver_is_missing_is_one_line_before_the_run(tmp_path, capsys):
    """postgresql:// passed the check (SQLAlchemy loads the dialect without its driver), so the
    run directory was claimed and the teacher trained before Optuna failed to connect."""
    pytest.importorskip("optuna")
    import importlib.util

    if any(importlib.util.find_spec(m) is not None for m in ("psycopg", "psycopg2")):
        pytest.skip("a postgres driver is installed here")
    argv = ["search", "--storage", "postgresql://lit@127.0.0.1:1/lit_search", "--trials", "1",
            "--out", str(tmp_path / "o"), "--run-name", "r", *TINY, *ONE_EPOCH]
    assert main(argv) == 2
    line = one_line_error(capsys)
    # (SQLAlchemy 2.1 loads psycopg for postgresql://, 2.0 psycopg2)
    assert "needs the database driver psycopg" in line and "pip install psycopg" in line
    assert not (tmp_path / "o").exists()


def test_good_storage_urls_pass_the_check_and_create_nothing(tmp_path):
    pytest.importorskip("optuna")
    from lit_core.studies.search import check_storage

    for storage in (f"sqlite:///{tmp_path}/x.db", "sqlite://", str(tmp_path / "s.journal")):
        check_storage(storage)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- issue 20, item 8 (data side)


@pytest.mark.parametrize("kind", ["sparse", "meta", "five-classes"])
def test_evaluate_a_checkpoint_that_cannot_fit_the_data_is_one_line(tmp_path, capsys, kind):
    state, meta = _digits_state(), {"model": "resnet8"}
    if kind == "sparse":
        state["stem.0.weight"] = state["stem.0.weight"].to_sparse()
    elif kind == "meta":
        state["stem.0.weight"] = torch.empty(state["stem.0.weight"].shape, device="meta")
    else:  # a 5-class model, and the file says so: it was trained on other data
        state = build_model("resnet8", num_classes=5, in_chans=1).state_dict()
        meta["model_kwargs"] = {"num_classes": 5}
    ckpt = tmp_path / f"{kind}.pt"
    save_atomic({"model": state, "meta": meta}, ckpt)
    assert main(["evaluate", str(ckpt), *TINY]) == 2
    line = one_line_error(capsys)
    assert str(ckpt) in line
    assert {"sparse": "'stem.0.weight' is torch.sparse_coo, not a dense tensor",
            "meta": "'stem.0.weight' is a meta tensor (no data)",
            "five-classes": "num_classes=5 (the data has 10)"}[kind] in line


def test_an_empty_validation_split_is_one_line_before_the_run(tmp_path, capsys):
    import numpy as np

    data = tmp_path / "one.npz"  # one training example: nothing left to hold out
    np.savez(data, images=np.zeros((1, 1, 8, 8), np.float32), labels=np.array([0]),
             test_images=np.zeros((2, 1, 8, 8), np.float32), test_labels=np.array([0, 0]))
    assert main(["train-teacher", "--data", "npz", "--data-dir", str(data), "--out",
                 str(tmp_path / "o"), "--run-name", "r", "--teacher", "resnet8",
                 "--set", "train.teacher.epochs=1"]) == 2
    assert "the validation split (val_fraction=0.1) of 1 training example(s) is empty" in \
        one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def _make_read_only(path):
    """chmod for ordinary users; root ignores modes, so the immutable attribute for root."""
    import os
    import shutil
    import subprocess

    if os.geteuid() != 0:
        path.chmod(0o555)
        return lambda: path.chmod(0o755)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode:
        pytest.skip("running as root without chattr: no way to make a read-only directory")
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("below", ["", "sub"])
def test_a_read_only_out_is_one_line(tmp_path, capsys, below):
    out = tmp_path / "ro"
    out.mkdir()
    undo = _make_read_only(out)
    try:
        target = out / below if below else out
        assert main(["train-teacher", "--out", str(target), "--run-name", "r", *TINY,
                     *ONE_EPOCH]) == 2
        line = one_line_error(capsys)
        assert f"{out} is not writable" in line and "choose another --out" in line
        assert list(out.iterdir()) == []
    finally:
        undo()


def test_a_symlink_loop_out_is_one_line(tmp_path, capsys):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert main(["train-teacher", "--out", str(tmp_path / "a"), "--run-name", "r", *TINY,
                 *ONE_EPOCH]) == 2
    assert "cannot be resolved" in one_line_error(capsys)


_FULL_DISK = """
import resource, signal, sys
from lit_core.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))  # a checkpoint is ~350 kB
sys.exit(main(sys.argv[1:]))
"""


def test_a_full_disk_while_writing_a_checkpoint_is_one_line_and_keeps_the_last_one(tmp_path):
    """A file size limit (RLIMIT_FSIZE) fails the checkpoint write as a full disk does."""
    import subprocess
    import sys

    args = ["compress", "--method", "scratch", "--student", "resnet8", "--out", str(tmp_path),
            "--run-name", "r", "--set", "train.scratch.epochs=1", *TINY]
    assert main(args) == 0
    job = tmp_path / "r" / "scratch"
    (job / "job.json").unlink()  # as if killed before the job finished: resume trains on
    before = (job / "last.pt").read_bytes()
    script = tmp_path / "full_disk.py"
    script.write_text(_FULL_DISK)
    more = [*args, "--resume", "--allow-config-change", "--set", "train.scratch.epochs=2"]
    done = subprocess.run([sys.executable, str(script), *more], capture_output=True, text=True,
                          timeout=600)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(err) == 1, done.stderr[-2000:]
    assert err[0].startswith(f"lit: error: cannot write {job}") and "File too large" in err[0]
    assert ".pt (File too large)" in err[0]  # the checkpoint write was the one refused
    assert "is unchanged" in err[0]
    assert (job / "last.pt").read_bytes() == before  # the previous checkpoint, intact
    assert not list(job.glob(".*.tmp"))  # no temp file left behind


_FULL_LOG = """
import resource, signal, sys
from lit_core.training.metrics import MetricsLogger
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
MetricsLogger(sys.argv[1]).log({"epoch": 1, "note": "x" * 2000})
"""


def test_a_full_disk_while_appending_metrics_is_one_error_naming_the_file(tmp_path):
    import subprocess
    import sys

    (tmp_path / "metrics.jsonl").write_text('{"epoch": 0}\n')
    script = tmp_path / "full_log.py"
    script.write_text(_FULL_LOG)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("lit_core.errors.WriteError: cannot write ") and "metrics.jsonl (File " \
        "too large)" in last and "the earlier lines of metrics.jsonl are kept" in last
    assert (tmp_path / "metrics.jsonl").read_text().startswith('{"epoch": 0}\n')
