"""The LIT step: teacher inputs reach the student's stages, stem/head copying, alignment."""

from __future__ import annotations

import pytest
import torch
from lit_tiny import TinyStaged, batches, clone_state, resnet, state_equal

from lit_core import (
    LITLoss,
    StudentForward,
    TrainConfig,
    check_alignment,
    copy_stem_and_head,
    fit,
    lit_step,
    make_plan,
)

CFG = dict(device="cpu", progress=False, batch_size=8)


def _capture_stage_inputs(student):
    calls: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(student.stages))}
    hooks = [
        stage.register_forward_pre_hook(lambda _m, args, i=i: calls[i].append(args[0].detach().clone()))
        for i, stage in enumerate(student.stages)
    ]
    return calls, hooks


def test_student_stage_receives_teacher_ir_in_lit_step():
    teacher, student = resnet(14).eval(), resnet(8).train()
    copy_stem_and_head(teacher, student)
    plan = make_plan(teacher, student, "all", teacher_input=True)
    x, y = batches(1)[0]
    calls, hooks = _capture_stage_inputs(student)
    lit_step(teacher, StudentForward(student, plan), plan, LITLoss(), x, y)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        expected = [teacher.stem(x), *teacher.forward_stages(x)[:-1]]  # T̃_0, T̃_1, T̃_2
    for i in range(3):
        assert torch.equal(calls[i][0], expected[i]), f"stage {i} did not get T̃_{i}"
    # the KD term's own forward then feeds stages 1 and 2 the student's activations
    assert len(calls[1]) == 2 and not torch.equal(calls[1][1], expected[1])


def test_student_stage_receives_teacher_ir_during_fit(tmp_path):
    teacher, student = resnet(14), resnet(8)
    data = batches(1)
    calls, hooks = _capture_stage_inputs(student)
    fit(student, teacher, data, data, method="lit", run_dir=tmp_path / "run",
        config=TrainConfig(ir_epochs=1, epochs=0, **CFG))
    for h in hooks:
        h.remove()
    x = data[0][0]
    with torch.no_grad():
        expected = [teacher.stem(x), *teacher.forward_stages(x)[:-1]]
    # calls[i][0] is the alignment check's own forward; the training step comes next
    for i in range(3):
        assert any(torch.equal(c, expected[i]) for c in calls[i][1:]), f"stage {i}"


def test_shared_stem_gives_the_students_own_forward():
    teacher, student = resnet(14), resnet(8)
    copy_stem_and_head(teacher, student)
    teacher.eval(), student.eval()
    plan = make_plan(teacher, student, "all", teacher_input=True)
    x = batches(1)[0][0]
    with torch.no_grad():
        from lit_core.method.lit import teacher_forward

        cuts, _ = teacher_forward(teacher, x, plan)
        shared, _ = StudentForward(student, plan, share_stem=True)(x, cuts)
        unshared, _ = StudentForward(student, plan, share_stem=False)(x, cuts)
        own = student(x)
    assert torch.equal(shared, own) and torch.equal(unshared, own)


def test_copy_stem_and_head_copies_matching_parts_only():
    teacher, student = resnet(14), resnet(8)
    copied = copy_stem_and_head(teacher, student)
    assert "stem.0.weight" in copied and "head.2.weight" in copied
    for name in copied:
        part, key = name.split(".", 1)
        assert torch.equal(getattr(student, part).state_dict()[key], getattr(teacher, part).state_dict()[key])
    wide = resnet(8, width=2, stem_chs=16)  # same stem, wider head input
    assert all(n.startswith("stem.") for n in copy_stem_and_head(teacher, wide))


@pytest.mark.parametrize("freeze", [True, False])
def test_copied_stem_and_head_are_frozen_in_lit_phase_when_configured(tmp_path, freeze):
    teacher, student = resnet(14), resnet(8)
    data = batches(2)
    stages_before = clone_state(student.stages)
    fit(student, teacher, data, data, method="lit", run_dir=tmp_path / "run",
        config=TrainConfig(ir_epochs=2, epochs=0, freeze_copied=freeze, **CFG))
    same_stem = not state_equal(clone_state(student.stem), clone_state(teacher.stem))
    same_head = not state_equal(clone_state(student.head), clone_state(teacher.head))
    assert same_stem == freeze and same_head == freeze
    assert state_equal(stages_before, clone_state(student.stages))  # the stages did train


def test_teacher_gets_no_gradient_and_is_bit_identical_after_training(tmp_path):
    teacher, student = resnet(14), resnet(8)
    teacher.train()  # fit must put it in eval mode itself, or BN running stats would move
    before = clone_state(teacher)
    data = batches(2)
    fit(student, teacher, data, data, method="lit", run_dir=tmp_path / "run",
        config=TrainConfig(ir_epochs=1, epochs=1, **CFG))
    assert state_equal(before, clone_state(teacher)) == []
    assert all(p.grad is None for p in teacher.parameters())


def test_misaligned_stage_is_named_with_both_shapes_before_training(tmp_path):
    teacher, student = resnet(14), resnet(8, width=2, stem_chs=16)
    with pytest.raises(ValueError, match=r"stage 0: teacher output \(16, 8, 8\) vs student \(32, 8, 8\)"):
        check_alignment(teacher, student, batches(1)[0][0])
    with pytest.raises(ValueError, match=r"stage 0: teacher output \(16, 8, 8\) vs student \(32, 8, 8\)"):
        fit(student, teacher, batches(1), batches(1), method="lit", run_dir=tmp_path / "run",
            config=TrainConfig(**CFG))
    assert not (tmp_path / "run" / "last.pt").exists()
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_misaligned_logits_and_stem_are_named():
    teacher = resnet(14)
    with pytest.raises(ValueError, match=r"logits: teacher output \(10,\) vs student \(5,\)"):
        check_alignment(teacher, resnet(8, num_classes=5), batches(1)[0][0])
    with pytest.raises(ValueError, match=r"stem: teacher output \(16, 8, 8\) vs student \(8, 8, 8\)"):
        check_alignment(teacher, resnet(8, stem_chs=8), batches(1)[0][0])


def test_block_plan_maps_student_blocks_to_teacher_block_groups():
    plan = make_plan(resnet(20), resnet(8), "blocks")  # 3 teacher blocks per student block
    assert plan.names == ["stage 0 block 0", "stage 1 block 0", "stage 2 block 0"]
    assert [len(p) for p in plan.teacher_pieces] == [3, 3, 3]
    plan = make_plan(resnet(26 - 6), resnet(14 - 6), "blocks")
    assert len(plan.student_pieces) == 3
    with pytest.raises(ValueError, match="stage 0 has 3 teacher blocks and 2 student blocks"):
        make_plan(resnet(20), resnet(14), "blocks")


def test_block_plan_needs_sequential_stages():
    class Odd(TinyStaged):
        def __init__(self):
            super().__init__()
            self.stages[1] = torch.nn.ModuleList([torch.nn.Identity()])

    with pytest.raises(ValueError, match="the student's stage 1 is a ModuleList"):
        make_plan(TinyStaged(), Odd(), "blocks")


def test_different_stage_counts_are_rejected():
    class TwoStages(TinyStaged):
        def __init__(self):
            super().__init__()
            del self.stages[2]

    with pytest.raises(ValueError, match="the teacher has 3 stages but the student has 2"):
        make_plan(TinyStaged(), TwoStages())


def test_fitnets_hint_phase_trains_only_up_to_the_hint_stage(tmp_path):
    teacher, student = resnet(14), resnet(8)
    before = clone_state(student)
    fit(student, teacher, batches(2), batches(1), method="fitnets", run_dir=tmp_path / "run",
        config=TrainConfig(ir_epochs=1, epochs=0, **CFG))
    changed = {k.split(".")[0] + ("." + k.split(".")[1] if k.startswith("stages") else "")
               for k in state_equal(before, clone_state(student))}
    assert changed == {"stem", "stages.0", "stages.1"}  # hint on stage 1's output; stage 2, head idle


def test_irs_without_teacher_input_feed_stages_the_students_own_activations():
    teacher, student = resnet(14).eval(), resnet(8).eval()
    copy_stem_and_head(teacher, student)
    plan = make_plan(teacher, student, "all", teacher_input=False)
    x, y = batches(1)[0]
    calls, hooks = _capture_stage_inputs(student)
    with torch.no_grad():
        lit_step(teacher, StudentForward(student, plan), plan, LITLoss(), x, y)
        own = student.forward_stages(x)
        teachers = teacher.forward_stages(x)
    for h in hooks:
        h.remove()
    assert [len(calls[i]) for i in range(3)] == [2, 2, 2]  # one forward in the step, one above
    assert torch.equal(calls[1][0], own[0]) and not torch.equal(calls[1][0], teachers[0])
