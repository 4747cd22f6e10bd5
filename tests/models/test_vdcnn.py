"""VDCNN: every depth pair lines up for LIT at the stage boundaries (the pooling points)."""

from __future__ import annotations

import importlib
import itertools

import pytest
import torch

import lit_models

DEPTHS = (9, 17, 29, 49)
PAIRS = [(t, s) for t, s in itertools.permutations(DEPTHS, 2) if t > s]


def test_every_teacher_student_depth_pair_is_covered():
    assert PAIRS == [(17, 9), (29, 9), (29, 17), (49, 9), (49, 17), (49, 29)]


@pytest.mark.parametrize(("t_depth", "s_depth"), PAIRS, ids=[f"vdcnn{t}-vdcnn{s}" for t, s in PAIRS])
@pytest.mark.parametrize("pool", ["max", "kmax"])
def test_vdcnn_pairs_line_up_at_every_stage_boundary(t_depth, s_depth, pool):
    torch.manual_seed(0)
    kw = {"seq_len": 64, "pool": pool, "num_classes": 5, "vocab_size": 69}
    teacher = lit_models.create_model(f"vdcnn{t_depth}", **kw).eval()
    student = lit_models.create_model(f"vdcnn{s_depth}", **kw).eval()
    assert len(teacher.stages) == len(student.stages) == 4
    assert teacher.feature_info == student.feature_info
    assert [i["reduction"] for i in teacher.feature_info] == [1, 2, 4, 8]
    # the copied parts (embedding + first conv; k-max + FCs) have identical tensors
    for part in ("stem", "head"):
        t_sd, s_sd = getattr(teacher, part).state_dict(), getattr(student, part).state_dict()
        assert {k: v.shape for k, v in t_sd.items()} == {k: v.shape for k, v in s_sd.items()}
    x = teacher.example_input(2)
    assert x.dtype == torch.int64 and x.shape == (2, 64)
    with torch.no_grad():
        t_outs = teacher.forward_stages(x)
        assert [tuple(o.shape) for o in t_outs] == [(2, 64, 64), (2, 128, 32), (2, 256, 16), (2, 512, 8)]
        inputs = [teacher.stem(x), *t_outs[:-1]]  # LIT: student stage i gets teacher output i-1
        for stage, t_in, t_out in zip(student.stages, inputs, t_outs, strict=True):
            assert stage(t_in).shape == t_out.shape
        assert student.head(t_outs[-1]).shape == teacher(x).shape == (2, 5)


def test_stages_are_split_at_the_pooling_points():
    model = lit_models.create_model("vdcnn29", seq_len=64)
    assert [len(s) for s in model.stages] == [5, 5, 2, 2]
    for i, stage in enumerate(model.stages):  # each stage after the first starts by halving
        first = stage[0].downsample
        assert isinstance(first, torch.nn.MaxPool1d) if i else isinstance(first, torch.nn.Identity)
        assert all(isinstance(b.downsample, torch.nn.Identity) for b in stage[1:])


def test_widths_and_hidden_scale_the_model_down_and_keep_alignment():
    small = dict(seq_len=64, widths=(16, 32, 64, 128), hidden=64)
    teacher, student = lit_models.create_model("vdcnn17", **small), lit_models.create_model("vdcnn9", **small)
    assert [i["num_chs"] for i in student.feature_info] == [16, 32, 64, 128]
    x = teacher.example_input(3)
    with torch.no_grad():
        assert [o.shape for o in teacher.forward_stages(x)] == [o.shape for o in student.forward_stages(x)]
    full = sum(p.numel() for p in lit_models.create_model("vdcnn9", seq_len=64).parameters())
    assert sum(p.numel() for p in student.parameters()) < full / 20
    with pytest.raises(ValueError, match="widths must be 4 positive"):
        lit_models.create_model("vdcnn9", widths=(16, 32, 64))


def test_zoo_docstring_names_the_papers_pair():
    doc = importlib.import_module("lit_models.vdcnn").__doc__
    assert "vdcnn29 → vdcnn17" in doc and "29 → vdcnn9" not in doc
