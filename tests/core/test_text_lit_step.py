"""One LIT step on text: int64 character ids through lit_core's modality-free step and trainer."""

from __future__ import annotations

import torch

import lit_models
from lit_core import StudentForward, TrainConfig, fit, lit_step, make_plan
from lit_core.data import ArrayDataset, BatchLoader
from lit_core.data.text import Quantizer
from lit_core.method.losses import LITLoss
from lit_core.training.step import make_train_step

TEXTS = ["the cat sat on the mat and looked at the door", "der hund und die katze sind da",
         "el perro y el gato son muy amigos", "il cane e il gatto sono molto amici"] * 4
SMALL = dict(seq_len=64, widths=(8, 16, 16, 32), hidden=32, num_classes=4, vocab_size=69)


def models():
    torch.manual_seed(0)
    return (lit_models.create_model("vdcnn17", **SMALL).eval(),
            lit_models.create_model("vdcnn9", **SMALL))


def batch():
    q = Quantizer(seq_len=64)
    ds = ArrayDataset(torch.from_numpy(q.encode(TEXTS)), torch.arange(len(TEXTS)) % 4)
    return next(iter(BatchLoader(ds, 16, shuffle=False)))


def test_student_stages_receive_the_teachers_text_irs():
    teacher, student = models()
    x, y = batch()
    assert x.dtype == torch.int64
    plan = make_plan(teacher, student, "all", teacher_input=True)
    seen = {}
    hooks = [s.register_forward_pre_hook(lambda _m, a, i=i: seen.setdefault(i, a[0].detach()))
             for i, s in enumerate(student.stages)]
    parts, logits = lit_step(teacher, StudentForward(student, plan), plan, LITLoss(beta=0.0), x, y)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        cuts = [teacher.stem(x), *teacher.forward_stages(x)[:-1]]
    for i, cut in enumerate(cuts):  # stage i got T̃_{i-1} (the stem output for i = 0)
        assert torch.equal(seen[i], cut)
    assert logits is None and torch.isfinite(parts.total) and parts.total > 0


def test_one_lit_train_step_on_text_updates_only_the_student_stages():
    teacher, student = models()
    t_before = {k: v.clone() for k, v in teacher.state_dict().items()}
    step = make_train_step(student, teacher, "lit", TrainConfig(device="cpu", progress=False))
    s_before = {k: v.clone() for k, v in student.state_dict().items()}
    x, y = batch()
    parts, _ = step(x, y)
    assert torch.isfinite(parts.total)
    assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in t_before.items())
    after = student.state_dict()
    for k in s_before:  # the copied stem and head stay the teacher's (frozen)
        if k.startswith(("stem.", "head.")):
            assert torch.equal(after[k], t_before[k])
    changed = [k for k in s_before if k.startswith("stages.") and not torch.equal(after[k], s_before[k])]
    assert any(k.startswith(f"stages.{i}.") for k in changed for i in range(4))
    assert {k.split(".")[1] for k in changed if k.endswith("conv1.weight")} == {"0", "1", "2", "3"}


def test_fit_runs_lit_then_kd_finetune_on_text(tmp_path):
    teacher, student = models()
    q = Quantizer(seq_len=64)
    ds = ArrayDataset(torch.from_numpy(q.encode(TEXTS)), torch.arange(len(TEXTS)) % 4)
    loader = BatchLoader(ds, 8, shuffle=True)
    cfg = TrainConfig(ir_epochs=1, epochs=1, device="cpu", progress=False, lr=0.01)
    res = fit(student, teacher, loader, BatchLoader(ds, 16, shuffle=False), method="lit",
              config=cfg, run_dir=tmp_path / "run")
    assert [h["phase"] for h in res.history] == ["ir", "finetune"]
    assert all(torch.isfinite(torch.tensor(h["train_loss"])) for h in res.history)
