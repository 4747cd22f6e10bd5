"""``python -m lit_bench`` on a tiny CPU setting: files written, bad input reported, nothing overwritten."""

from __future__ import annotations

import json

import pytest
import torch

from lit_bench.cli import main

pytest.importorskip("lit_models")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_help_documents_the_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in ("--models", "--variants", "--backends", "--dtypes", "--batch-sizes", "--runs",
                   "--checkpoint", "--out", "--device", "onnxrt", "l1-B", "depgraph-r8"):
        assert option in text


def test_tiny_cpu_bench_writes_json_markdown_and_plots_and_reports_bad_names(tmp_path, capsys):
    out = tmp_path / "report"
    status = main([
        "--device", "cpu", "--models", "resnet20,resnet56,resnet_nope", "--variants", "dense,l1-B",
        "--backends", "eager,onnxrt,no_such_backend", "--batch-sizes", "1,4", "--runs", "5",
        "--throughput-runs", "2", "--warmup", "1", "--out", str(out),
    ])
    printed = capsys.readouterr().out
    assert status == 2  # bad names → non-zero exit, but the report is written
    assert "unknown model 'resnet_nope'" in printed and "unknown backend 'no_such_backend'" in printed
    assert "No GPU used" in printed

    data = json.loads((out / "results.json").read_text())
    ok = [r for r in data["rows"] if r["status"] == "ok"]
    keys = {(r["model"], r["variant"], r["backend"], r["batch_size"]) for r in ok}
    assert keys == {(m, v, b, n) for m, v in [("resnet20", "dense"), ("resnet56", "dense"), ("resnet56", "l1-B")]
                    for b in ("eager", "onnxrt") for n in (1, 4)}
    for r in ok:
        assert r["runs"] == (5 if r["batch_size"] == 1 else 2)
        assert 0 < r["latency_ms_p50"] <= r["latency_ms_p90"]
        assert r["latency_ms_p99"] is None  # 5 runs: p99 needs 1000
        assert r["throughput_items_s"] > 0 and r["macs"] > 0 and r["params"] > 0
        assert r["device"] == "cpu" and r["dtype"] == "fp32" and r["torch"] and r["onnxruntime"]
    skipped = {r["reason"] for r in data["rows"] if r["status"] == "skipped"}
    assert any("resnet_nope" in s for s in skipped) and any("no_such_backend" in s for s in skipped)
    assert data["meta"]["command"].startswith("python -m lit_bench --device cpu")

    md = (out / "report.md").read_text()
    assert "| resnet56 | l1-B | onnxrt | fp32 |" in md and "| images/s |" in md
    assert "- **input per item**: `(3, 32, 32) float32`; a batch of b stacks b of them" in md
    assert "## Failed and skipped" in md and "resnet_nope" in md
    for name in ("latency_vs_conv_layers", "latency_vs_macs", "throughput_vs_batch"):
        assert (out / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
    assert not (out / "latency_vs_accuracy.png").exists()  # no accuracies: no empty plot, the report says why
    assert "`latency_vs_accuracy.png` not drawn: no row has an accuracy" in md


def test_an_existing_report_is_not_overwritten(tmp_path, capsys):
    (tmp_path / "results.json").write_text("keep me")
    status = main(["--device", "cpu", "--models", "resnet20", "--variants", "dense", "--out", str(tmp_path)])
    assert status == 2
    assert "already holds a report" in capsys.readouterr().err
    assert (tmp_path / "results.json").read_text() == "keep me"


def test_bad_checkpoint_argument_is_one_clear_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--checkpoint", "resnet20"])
    assert exc.value.code == 2
    assert "expected MODEL=PATH" in capsys.readouterr().err


def test_a_checkpoint_that_does_not_fit_skips_its_rows_only(tmp_path, capsys):
    lit_models = pytest.importorskip("lit_models")
    ckpt = tmp_path / "r20.pt"
    torch.save({"model": lit_models.create_model("resnet20").state_dict()}, ckpt)
    out = tmp_path / "out"
    status = main([
        "--device", "cpu", "--models", "resnet20,resnet32", "--variants", "dense", "--backends", "eager",
        "--batch-sizes", "1", "--runs", "3", "--warmup", "1", "--data", "digits",
        "--checkpoint", f"resnet32={ckpt}", "--out", str(out),
    ])
    assert status == 2
    assert "resnet32" in capsys.readouterr().out
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [(r["model"], r["status"]) for r in rows if r["status"] == "ok"] == [("resnet20", "ok")]
    (bad,) = [r for r in rows if r["model"] == "resnet32"]
    assert bad["status"] == "skipped" and "does not match the model" in bad["reason"]


def test_write_report_takes_lit_cores_argument_order_and_refuses_to_overwrite(tmp_path):
    from lit_bench.report import write_report

    row = {"model": "resnet20", "variant": "dense", "backend": "eager", "dtype": "fp32", "batch_size": 1,
           "status": "skipped", "reason": "test", "note": None, "gpu_state": None}
    paths = write_report(tmp_path, [row], title="t", meta={"device": "cpu"})
    assert json.loads(paths["json"].read_text())["title"] == "t"
    with pytest.raises(FileExistsError, match=r"results\.json already exists"):
        write_report(tmp_path, [row], meta={})
    write_report(tmp_path, [row], meta={}, overwrite=True)


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.mark.parametrize("content", [b"hello, not a checkpoint\n", b"", b"\x80\x02]q\x00."])
def test_a_file_that_is_not_a_checkpoint_is_one_error_line(tmp_path, capsys, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    status = main(["--device", "cpu", "--models", "resnet20", "--checkpoint", f"resnet20={path}",
                   "--out", str(tmp_path / "out")])
    assert status == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"lit-bench: error: --checkpoint resnet20={path}: checkpoint {path}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,expected", [
    (["--batch-sizes", "0"], "argument --batch-sizes: must be ≥ 1, got 0"),
    (["--batch-sizes", "1,-4"], "argument --batch-sizes: must be ≥ 1, got -4"),
    (["--runs", "0"], "argument --runs: must be ≥ 1, got 0"),
    (["--batch-sizes", "x"], "argument --batch-sizes: expected a positive integer, got 'x'"),
])
def test_a_bad_count_is_one_error_line(tmp_path, capsys, args, expected):
    with pytest.raises(SystemExit) as exc:
        main(["--device", "cpu", *args, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert _one_error_line(capsys) == f"python -m lit_bench: error: {expected} (see --help)"
    assert not (tmp_path / "out").exists()


def test_dry_run_check_for_cuda_plans_and_checks_on_a_cpu_machine(tmp_path, capsys):
    status = main(["--dry-run", "--check", "--device", "cuda", "--models", "resnet20,resnet56", "--variants", "dense,l1-B",
                   "--backends", "eager,compile,ort_cuda,ort_trt", "--dtypes", "fp32,fp16",
                   "--batch-sizes", "1,64", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert status == 0, out
    # 3 models (resnet56 l1-B is a pruned teacher) × 4 backends × 2 dtypes × 2 batches
    assert "plan: 48 rows; 12 torch.compile compiles; 24 ONNX exports; 12 TensorRT engine builds" in out
    for key in ("resnet20/dense", "resnet56/dense", "resnet56/l1-B"):
        assert f"ok   {key} compile: Dynamo traces it as one graph" in out
        assert f"ok   {key} ort_cuda: ONNX export ok" in out
    assert "dry run: no problems found" in out
    assert not (tmp_path / "out").exists()


class _GraphBreak(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        torch._dynamo.graph_break()  # what an unsupported Python construct does to Dynamo
        return y.relu()


def test_dry_run_reports_a_model_that_does_not_trace_in_one_graph():
    from lit_bench.bench import BenchConfig
    from lit_bench.catalog import Candidate
    from lit_bench.dryrun import dry_run

    cand = Candidate(model="branchy", variant="dense", role="student", module=_GraphBreak().eval(),
                     params=0, macs=0, conv_layers=1, input_shape=(3, 8, 8))
    lines: list[str] = []
    plan = dry_run(BenchConfig(device="cuda", backends=("compile", "ort_cuda"), dtypes=("fp32",), batch_sizes=(1,)),
                   [cand], [], log=lines.append)
    assert len(plan.problems) == 1 and plan.problems[0].startswith("branchy/dense compile: ")
    assert any(line.strip().startswith("ok   branchy/dense ort_cuda: ONNX export ok") for line in lines)
    assert lines[-1].startswith("dry run: 1 problem(s) (")


# per device: the backends a tiny bench runs, and the ones that must give timed rows
_TINY = {
    "cuda": ("eager,eager_folded,cuda_graphs,ort_cuda", {"eager", "cuda_graphs"}),
    "cpu": ("eager,eager_folded,onnxrt", {"eager", "eager_folded", "onnxrt"}),
}


def test_tiny_bench_runs_every_backend_of_the_device(tmp_path, device):
    out = tmp_path / device
    backends, must_run = _TINY[device]
    status = main([
        "--device", device, "--models", "resnet20,resnet56", "--variants", "dense,l1-B",
        "--backends", backends, "--dtypes", "fp32,fp16", "--batch-sizes", "1,64" if device == "cuda" else "1,4",
        "--runs", "20" if device == "cuda" else "3", "--throughput-runs", "3", "--warmup", "3", "--out", str(out),
    ])
    data = json.loads((out / "results.json").read_text())
    ok = [r for r in data["rows"] if r["status"] == "ok"]
    assert status == 0
    assert {r["backend"] for r in ok} >= must_run
    torch_rows = [r for r in ok if not r["backend"].startswith("ort") and r["backend"] != "onnxrt"]
    assert torch_rows and all(r["device"] == device and r["device_name"] for r in torch_rows)
    if device == "cuda":
        assert all(r["peak_mem_bytes"] is not None for r in torch_rows)
        assert all(r["peak_mem_bytes"] is None and "not measured" in r["note"] for r in ok if r["backend"] == "ort_cuda")


def test_the_lit_bench_console_script_runs_the_same_cli():
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    exe = shutil.which("lit-bench", path=str(Path(sys.executable).parent))
    assert exe is not None, "the lit-bench console script is not installed beside this Python"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--dry-run" in out.stdout


def test_repeats_flag_sets_the_config_and_rejects_zero(capsys):
    from lit_bench.cli import _config, build_parser

    assert _config(build_parser().parse_args(["--repeats", "3"]), "cpu").repeats == 3
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--repeats", "0"])
    assert exc.value.code == 2 and "--repeats" in capsys.readouterr().err
