"""Text students/teachers (VDCNN, int64 token ids) and StarGAN generators in the bench."""

from __future__ import annotations

import json

import pytest
import torch

from lit_bench.catalog import GENERATORS, InputSpec, build_candidates, example_input
from lit_bench.cli import main

pytest.importorskip("lit_models")


def test_text_candidates_take_token_ids_and_generators_translate_images():
    cands, skipped = build_candidates(["vdcnn9", "stargan_g2"], ["dense", "l1-B"],
                                      spec=InputSpec(seq_len=64))
    assert not skipped
    text, gen = cands  # no pruned baselines for these families
    assert (text.input_shape, text.input_dtype, text.role) == ((64,), torch.int64, "student")
    ids = example_input(text.input_shape, text.input_dtype, 3)
    assert ids.dtype == torch.int64 and int(ids.min()) >= 0 and int(ids.max()) < 69
    assert tuple(text.module(ids).shape) == (3, 10)
    x = example_input(gen.input_shape, gen.input_dtype, 2)
    assert tuple(gen.module(x).shape) == tuple(x.shape)  # image → image, one domain
    assert GENERATORS["stargan_g6"] == 6 and gen.macs > 0


def test_cli_times_text_and_generator_pairs_in_eager_and_onnx_runtime(tmp_path, capsys):
    out = tmp_path / "report"
    status = main(["--device", "cpu", "--models", "vdcnn17,vdcnn9,stargan_g6,stargan_g2",
                   "--seq-len", "64", "--backends", "eager,onnxrt", "--batch-sizes", "1,2",
                   "--runs", "3", "--throughput-runs", "2", "--warmup", "1", "--out", str(out)])
    assert status == 0, capsys.readouterr().out
    rows = json.loads((out / "results.json").read_text())["rows"]
    ok = {(r["model"], r["backend"], r["batch_size"]) for r in rows if r["status"] == "ok"}
    assert ok == {(m, b, n) for m in ("vdcnn17", "vdcnn9", "stargan_g6", "stargan_g2")
                  for b in ("eager", "onnxrt") for n in (1, 2)}
    by = {(r["model"], r["backend"], r["batch_size"]): r for r in rows}
    assert by[("vdcnn17", "eager", 1)]["macs"] > by[("vdcnn9", "eager", 1)]["macs"]
    assert by[("stargan_g6", "eager", 1)]["params"] > by[("stargan_g2", "eager", 1)]["params"]
    assert all(r["max_rel_error"] <= 1e-4 for r in rows if r["status"] == "ok")


def test_too_short_sequences_are_one_error_line(tmp_path, capsys):
    assert main(["--device", "cpu", "--models", "vdcnn9", "--seq-len", "4", "--overwrite",
                 "--out", str(tmp_path / "r")]) == 2
    assert "--seq-len must be >= 64" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
