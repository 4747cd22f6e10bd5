"""Teacher/student pairs line up at every stage boundary, as LIT needs.

LIT feeds the teacher's output of stage i-1 into the student's stage i and compares the outputs
of stage i, so the pairs must agree in stage count, boundary shapes and feature_info.
"""

from __future__ import annotations

import pytest
import torch

import lit_models

PAIRS = [
    pytest.param(("resnet110", {}), ("resnet20", {}), id="resnet110-resnet20"),
    pytest.param(("resnext110_32x4d", {"img_size": 8}), ("resnext20_16x4d", {"img_size": 8}),
                 id="resnext-c32-c16"),
    pytest.param(("resnext110_32x4d", {"img_size": 8}), ("resnext20_32x4d", {"img_size": 8}),
                 id="resnext-c32-c32"),
    pytest.param(("vdcnn29", {}), ("vdcnn9", {}), id="vdcnn29-vdcnn9"),
    pytest.param(("vdcnn29", {"pool": "kmax", "shortcut": True}), ("vdcnn9", {}),
                 id="vdcnn29kmax-vdcnn9"),
    pytest.param(("stargan_generator", {"img_size": 32, "num_blocks": 6}),
                 ("stargan_generator", {"img_size": 32, "num_blocks": 2}), id="stargan-6-2"),
    pytest.param(("resnet101", {"img_size": 64}),
                 ("tv_resnet", {"block": "bottleneck", "layers": [2, 2, 2, 2], "img_size": 64}),
                 id="tv-resnet101-2222"),
]


@pytest.mark.parametrize(("teacher_spec", "student_spec"), PAIRS)
def test_teacher_and_student_line_up_at_every_boundary(teacher_spec, student_spec):
    torch.manual_seed(0)
    teacher = lit_models.create_model(teacher_spec[0], **teacher_spec[1]).eval()
    student = lit_models.create_model(student_spec[0], **student_spec[1]).eval()
    assert sum(p.numel() for p in student.parameters()) < sum(p.numel() for p in teacher.parameters())
    assert len(student.stages) == len(teacher.stages)
    assert [(i["num_chs"], i["reduction"]) for i in student.feature_info] == [
        (i["num_chs"], i["reduction"]) for i in teacher.feature_info
    ]
    x = teacher.example_input(2)
    with torch.no_grad():
        t_outs = teacher.forward_stages(x)
        s_outs = student.forward_stages(x)
        assert [o.shape for o in s_outs] == [o.shape for o in t_outs]
        # The LIT step: student stage i takes the teacher's stage i-1 output (stem output for i=0).
        inputs = [teacher.stem(x), *t_outs[:-1]]
        for i, (stage, t_in) in enumerate(zip(student.stages, inputs, strict=True)):
            assert stage(t_in).shape == t_outs[i].shape
        assert student.head(t_outs[-1]).shape == teacher(x).shape


def test_resnet110_and_resnet20_have_three_stages_of_equal_output_shapes():
    """The issue's "Done when": create_model("resnet110").stages has 3 entries like resnet20's."""
    teacher, student = lit_models.create_model("resnet110"), lit_models.create_model("resnet20")
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        shapes = [tuple(o.shape) for o in teacher.forward_stages(x)]
        assert shapes == [tuple(o.shape) for o in student.forward_stages(x)]
    assert len(teacher.stages) == 3
    assert shapes == [(2, 16, 32, 32), (2, 32, 16, 16), (2, 64, 8, 8)]
