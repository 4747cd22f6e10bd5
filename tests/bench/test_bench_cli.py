"""``python -m lit_bench`` on a tiny CPU setting: files written, bad input reported, nothing overwritten."""

from __future__ import annotations

import json

import pytest

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
        assert 0 < r["latency_ms_p50"] <= r["latency_ms_p90"] <= r["latency_ms_p99"]
        assert r["throughput_items_s"] > 0 and r["macs"] > 0 and r["params"] > 0
        assert r["device"] == "cpu" and r["dtype"] == "fp32" and r["torch"] and r["onnxruntime"]
    skipped = {r["reason"] for r in data["rows"] if r["status"] == "skipped"}
    assert any("resnet_nope" in s for s in skipped) and any("no_such_backend" in s for s in skipped)
    assert data["meta"]["command"].startswith("python -m lit_bench --device cpu")

    md = (out / "report.md").read_text()
    assert "| resnet56 | l1-B | onnxrt | fp32 |" in md
    assert "## Failed and skipped" in md and "resnet_nope" in md
    for name in ("latency_vs_accuracy", "latency_vs_conv_layers", "latency_vs_macs", "throughput_vs_batch"):
        assert (out / f"{name}.png").read_bytes()[:8] == PNG_MAGIC


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
    import torch

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
    assert bad["status"] == "skipped" and "does not fit" in bad["reason"]


@pytest.mark.cuda
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_tiny_gpu_bench_runs_every_gpu_backend(tmp_path):
    out = tmp_path / "gpu"
    status = main([
        "--device", "cuda", "--models", "resnet20,resnet56", "--variants", "dense,l1-B",
        "--backends", "eager,cuda_graphs,onnxrt", "--dtypes", "fp32,fp16", "--batch-sizes", "1,64",
        "--runs", "20", "--throughput-runs", "3", "--warmup", "3", "--out", str(out),
    ])
    data = json.loads((out / "results.json").read_text())
    ok = [r for r in data["rows"] if r["status"] == "ok"]
    assert status == 0
    assert {r["backend"] for r in ok} >= {"eager", "cuda_graphs"}
    assert all(r["device"] == "cuda" and r["device_name"] and r["peak_mem_bytes"] is not None for r in ok)
