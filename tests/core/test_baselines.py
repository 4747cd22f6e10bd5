"""The baselines a user would pick instead of LIT (depth_prune, kd_copied), the paper-fidelity
settings (lit_single_ir's single IR, frozen copies in the fine-tune), on real tiny models."""

from __future__ import annotations

import copy

import pytest
import torch
from lit_tiny import batches, resnet

from lit_core import TrainConfig, get_method
from lit_core.errors import AlignmentError
from lit_core.method.depth_prune import kept_blocks
from lit_core.training.step import check_pair, make_train_step, setup_training
from lit_models import create_model

CPU = TrainConfig(device="cpu", progress=False)


def _randomise_bn(model: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
            m.weight.data.copy_(0.5 + torch.rand(m.num_features, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(m.num_features, generator=g))


@pytest.mark.parametrize("n_teacher,n_student,kept", [
    (9, 1, [0]), (9, 3, [0, 4, 8]), (3, 2, [0, 2]), (18, 3, [0, 9, 17]), (5, 5, [0, 1, 2, 3, 4]),
])
def test_depth_prune_keeps_the_first_block_and_evenly_spaced_ones(n_teacher, n_student, kept):
    assert kept_blocks(n_teacher, n_student) == kept


@pytest.mark.parametrize("teacher_depth,blocks", [(20, None), (20, (2, 2, 2)), (56, None)])
def test_depth_pruned_student_starts_as_the_teachers_kept_blocks_bit_for_bit(teacher_depth, blocks):
    teacher = resnet(teacher_depth)
    _randomise_bn(teacher)
    torch.manual_seed(1)
    student = (create_model("cifar_resnet", blocks=blocks, img_size=8) if blocks else resnet(8))
    s = setup_training(student, teacher, get_method("depth_prune"), CPU)
    n_t = len(teacher.stages[0])
    for i, s_stage in enumerate(s.student.stages):
        for j, k in enumerate(kept_blocks(n_t, len(s_stage))):
            t_sd, s_sd = teacher.stages[i][k].state_dict(), s_stage[j].state_dict()
            assert all(torch.equal(t_sd[n], s_sd[n]) for n in t_sd), (i, j, k)
    for part in ("stem", "head"):
        t_sd, s_sd = getattr(teacher, part).state_dict(), getattr(s.student, part).state_dict()
        assert all(torch.equal(t_sd[n], s_sd[n]) for n in t_sd)


@pytest.mark.parametrize("teacher_depth,blocks", [(14, None), (20, (2, 2, 2)), (32, (1, 3, 2))])
def test_depth_pruned_student_computes_the_teacher_with_dropped_residual_branches_zeroed(
        teacher_depth, blocks):
    """Dropped blocks (identity shortcuts) with a zero residual branch pass x = ReLU(x) through."""
    teacher = resnet(teacher_depth)
    _randomise_bn(teacher)
    student = create_model("cifar_resnet", blocks=blocks, img_size=8) if blocks else resnet(8)
    setup_training(student, teacher, get_method("depth_prune"), CPU)
    zeroed = copy.deepcopy(teacher)
    for i, stage in enumerate(zeroed.stages):
        keep = kept_blocks(len(stage), len(student.stages[i]))
        for k, block in enumerate(stage):
            if k not in keep:
                assert isinstance(block.shortcut, torch.nn.Identity)
                block.bn2.weight.data.zero_()
                block.bn2.bias.data.zero_()
    x = batches(1, batch=4)[0][0]
    zeroed.eval(), student.eval(), teacher.eval()
    with torch.no_grad():
        out_s, out_z, out_t = student(x), zeroed(x), teacher(x)
    torch.testing.assert_close(out_s, out_z, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(out_s, out_t, atol=1e-3)  # the dropped blocks did matter


def test_depth_prune_works_for_vdcnn():
    torch.manual_seed(0)
    teacher = create_model("vdcnn17", num_classes=4, shortcut=True)
    student = create_model("vdcnn9", num_classes=4, shortcut=True)
    s = setup_training(student, teacher, get_method("depth_prune"), CPU)
    for i, stage in enumerate(s.student.stages):
        for j, k in enumerate(kept_blocks(len(teacher.stages[i]), len(stage))):
            t_sd = teacher.stages[i][k].state_dict()
            assert all(torch.equal(v, stage[j].state_dict()[n]) for n, v in t_sd.items())


@pytest.mark.parametrize("student,match", [
    (lambda: create_model("resnet8x4", img_size=8), r"stages\.0\.0 differs in structure or shapes"),
    (lambda: resnet(32), "stage 0 of the student has 5 blocks, more than the teacher's 2"),
])
def test_depth_prune_refuses_blocks_the_teacher_cannot_supply(student, match):
    teacher = resnet(14)
    x = batches(1, batch=2)[0][0]
    with pytest.raises(AlignmentError, match=match):
        check_pair(teacher, student(), get_method("depth_prune"), x)


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict, module: torch.nn.Module, only_params: bool = True) -> bool:
    names = {n for n, _ in module.named_parameters()} if only_params else set(before)
    after = module.state_dict()
    return any(not torch.equal(before[n], after[n]) for n in names)


def _run(step, n: int = 3) -> None:
    for x, y in batches(n, batch=8):
        step(x, y)


def test_kd_copied_keeps_the_teachers_stem_and_head_frozen_then_trains_them():
    teacher = resnet(14)
    cfg = CPU.replace(ir_epochs=1, epochs=1)
    first = make_train_step(resnet(8), teacher, "kd_copied", cfg, phase="first")
    assert first.phase.name == "frozen" and first.phase.plan is None
    student = first.student
    stem, head, stages = _params(student.stem), _params(student.head), _params(student.stages)
    assert all(torch.equal(v, teacher.stem.state_dict()[k]) for k, v in stem.items())
    _run(first)
    assert not _changed(stem, student.stem, only_params=False)  # frozen, BN in eval mode
    assert not _changed(head, student.head, only_params=False)
    assert _changed(stages, student.stages)
    last = make_train_step(resnet(8), teacher, "kd_copied", cfg, phase="last")
    stem = _params(last.student.stem)
    _run(last)
    assert last.phase.name == "finetune" and _changed(stem, last.student.stem)


@pytest.mark.parametrize("freeze", [False, True])
def test_finetune_can_keep_the_copied_parts_frozen_as_the_authors_code_does(freeze):
    teacher = resnet(14)
    cfg = CPU.replace(ir_epochs=1, epochs=1, finetune_freeze_copied=freeze)
    step = make_train_step(resnet(8), teacher, "lit", cfg, phase="last")
    student = step.student
    stem, head = _params(student.stem), _params(student.head)
    _run(step)
    assert _changed(stem, student.stem) is not freeze
    assert _changed(head, student.head) is not freeze
    bn = [n for n in stem if "running_mean" in n]
    assert bn and all(not torch.equal(stem[n], student.stem.state_dict()[n]) for n in bn)  # BN updates


def test_lit_single_ir_trains_the_last_stage_alone_on_the_teachers_input():
    teacher = resnet(14)
    step = make_train_step(resnet(8), teacher, "lit_single_ir", CPU.replace(beta=0.0), phase="first")
    plan = step.phase.plan
    assert plan.ir_at == [2] and plan.segment_starts() == [2]
    x = batches(1, batch=4)[0][0]
    teacher.eval()
    with torch.no_grad():
        cuts = [teacher.stem(x)]
        for stage in teacher.stages:
            cuts.append(stage(cuts[-1]))
    student = step.student
    student.eval()
    with torch.no_grad():
        _, irs = step.module(x, cuts, need_logits=False)
        torch.testing.assert_close(irs[0], student.stages[2](cuts[2]))  # S_3(T̃_2), not S(T̃_0)
    before = _params(student)
    _run(step)
    changed = {n.split(".")[0] + "." + n.split(".")[1] if n.startswith("stages") else n.split(".")[0]
               for n, p in student.named_parameters() if not torch.equal(before[n], p.detach())}
    assert changed == {"stages.2"}  # IR only (β = 0): the one IR reaches the last stage only


def test_lit_single_ir_with_kd_still_trains_the_earlier_stages_through_kd():
    step = make_train_step(resnet(8), resnet(14), "lit_single_ir", CPU, phase="first")
    before = [_params(stage) for stage in step.student.stages]
    _run(step)
    assert all(_changed(b, stage) for b, stage in zip(before, step.student.stages, strict=True))


def test_depth_prune_with_an_unprunable_student_is_one_error_before_anything_is_created(
        tmp_path, capsys):
    from lit_core.cli import main

    rc = main(["compare", "--methods", "depth_prune", "--data", "digits", "--teacher", "resnet14",
               "--student", "resnet8x4", "--out", str(tmp_path), "--run-name", "x"])
    err = capsys.readouterr().err
    assert rc == 2 and "lit: error: depth pruning: student block stages.0.0 differs" in err
    assert not (tmp_path / "x").exists()
