"""Section compression of a StarGAN generator: copy/freeze, the β = 0 LIT step, L2, bad names."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from gan_tiny import domain_data, generator

from lit_core.gan.compress import copy_uncompressed, parse_sections, section_plan, train_section
from lit_core.method.lit import StudentForward, lit_step
from lit_core.method.losses import LITLoss
from lit_models import tile_domain


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def test_uncompressed_stages_are_copied_from_the_teacher_and_stay_frozen():
    data = domain_data()
    teacher, student = generator(data, [2, 2], seed=1), generator(data, [2, 1], seed=2)
    copied = copy_uncompressed(teacher, student, [1])
    assert copied == ["stem", "head", "stages.0"]
    for name in copied:
        t, s = teacher.get_submodule(name).state_dict(), student.get_submodule(name).state_dict()
        assert all(torch.equal(t[k], s[k]) for k in t)
    frozen_before = {n: _snapshot(student.get_submodule(n)) for n in copied}
    section_before = _snapshot(student.stages[1])
    train_section("lit", teacher, student, [1], data, steps=3, lr=1e-2, batch_size=8)
    for name, before in frozen_before.items():
        after = _snapshot(student.get_submodule(name))
        assert all(torch.equal(before[k], after[k]) for k in before), f"{name} changed"
    after = _snapshot(student.stages[1])
    assert any(not torch.equal(section_before[k], after[k]) for k in after)
    assert all(p.requires_grad for p in student.parameters())  # unfrozen again for fine-tuning


def test_beta0_lit_step_is_the_section_ir_loss_on_the_teachers_input():
    data = domain_data()
    teacher, student = generator(data, [4], seed=1), generator(data, [2], seed=2)
    copy_uncompressed(teacher, student, [0])
    plan = section_plan(teacher, student, [0])
    x = tile_domain(data.train.images[:6], data.train.labels[:6])
    parts, logits = lit_step(teacher, StudentForward(student, plan), plan, LITLoss(beta=0.0), x,
                             torch.zeros(6, dtype=torch.long))
    with torch.no_grad():
        t_in = teacher.stem(x)
        t_out = teacher.stages[0](t_in)
    expected = F.mse_loss(student.stages[0](t_in), t_out)  # eq. 3 with β = 0
    assert logits is None
    assert torch.allclose(parts.total, expected) and float(parts.kd) == 0.0


@pytest.mark.parametrize("method", ["lit", "l2"])
def test_section_training_lowers_its_own_loss(method):
    data = domain_data(n=48)
    teacher, student = generator(data, [3], seed=1), generator(data, [1], seed=2)
    copy_uncompressed(teacher, student, [0])
    hist = train_section(method, teacher, student, [0], data, steps=60, lr=1e-2, batch_size=16,
                         log_every=10)
    losses = [h[f"{method}_loss"] for h in hist]
    assert losses[-1] < 0.7 * losses[0]


def test_a_section_that_does_not_exist_is_one_clear_error():
    g = generator(domain_data(), [2, 2])
    assert parse_sections(g, ["stages.1", 0]) == [0, 1]
    with pytest.raises(ValueError, match=r"section 'stages.5' does not exist; .*stages.0, stages.1"):
        parse_sections(g, ["stages.5"])
    with pytest.raises(ValueError, match="section 'bottleneck' does not exist"):
        parse_sections(g, ["bottleneck"])


def test_a_copied_stage_that_differs_from_the_teachers_is_an_error():
    data = domain_data()
    with pytest.raises(ValueError, match=r"stages.0 is not compressed but the student's differs"):
        copy_uncompressed(generator(data, [2, 2]), generator(data, [1, 1]), [1])


def test_section_helpers_work_on_a_classifier_too():
    """Compress only stages.2 of a CIFAR ResNet: the rest is copied and frozen, β = 0 trains stage 2."""
    import copy

    from lit_models import create_model

    torch.manual_seed(0)
    teacher = create_model("resnet20", img_size=8).train()
    student = copy.deepcopy(teacher)
    student.stages[2] = torch.nn.Sequential(copy.deepcopy(teacher.stages[2][0]))  # 3 blocks → 1
    torch.nn.init.normal_(student.stages[2][0].conv2.weight, std=0.1)
    assert copy_uncompressed(teacher, student, [2]) == ["stem", "head", "stages.0", "stages.1"]
    from lit_core.gan.compress import freeze_outside

    params = freeze_outside(student, [2])
    plan = section_plan(teacher, student, [2])
    before = {k: v.clone() for k, v in student.state_dict().items() if "stages.2" not in k}
    x, y = torch.randn(4, 3, 8, 8), torch.zeros(4, dtype=torch.long)
    opt = torch.optim.SGD(params, lr=0.1)
    parts, _ = lit_step(teacher, StudentForward(student, plan), plan, LITLoss(beta=0.0), x, y)
    parts.total.backward()
    opt.step()
    after = student.state_dict()
    # parameters only: in train mode the copied stages' BatchNorm statistics still move (a trainer
    # that wires this for classifiers should run the frozen stages in eval mode)
    assert all(torch.equal(v, after[k]) for k, v in before.items() if "running" not in k and "num_batches" not in k)
    assert all(p.grad is None for n, p in student.named_parameters() if not n.startswith("stages.2"))
