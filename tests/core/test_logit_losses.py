"""DKD (Zhao et al., CVPR 2022) and DIST (Huang et al., NeurIPS 2022): value and gradient equal an
independent reference written here from the papers' formulas, on fixed tensors, to 1e-6."""

from __future__ import annotations

import math

import pytest
import torch

from lit_core.errors import ConfigError
from lit_core.method.logit_losses import DISTLoss, DKDLoss, warmup_epochs


def _fixed(dtype=torch.float64):
    g = torch.Generator().manual_seed(7)
    s = (2.5 * torch.randn(6, 5, generator=g)).to(dtype)
    t = (3.0 * torch.randn(6, 5, generator=g)).to(dtype)
    y = torch.tensor([0, 4, 2, 2, 1, 3])
    return s, t, y


def _softmax(z: torch.Tensor) -> torch.Tensor:
    e = torch.exp(z - z.max())
    return e / e.sum()


def dkd_reference(s, t, y, alpha, beta, temp, weight=1.0):
    """Zhao et al. eqs. 1-7 sample by sample: b = [p_t, 1 - p_t]; p̂ = p renormalised over the
    non-target classes; TCKD = KL(b^T || b^S), NCKD = KL(p̂^T || p̂^S); CE at temperature 1."""
    total = 0.0
    for i in range(s.shape[0]):
        ps, pt = _softmax(s[i] / temp), _softmax(t[i] / temp)
        k = int(y[i])
        bs = torch.stack([ps[k], 1 - ps[k]])
        bt = torch.stack([pt[k], 1 - pt[k]])
        tckd = (bt * torch.log(bt / bs)).sum()
        others = [c for c in range(s.shape[1]) if c != k]
        hs, ht = ps[others] / (1 - ps[k]), pt[others] / (1 - pt[k])
        nckd = (ht * torch.log(ht / hs)).sum()
        ce = -torch.log(_softmax(s[i])[k])
        total = total + ce + weight * temp**2 * (alpha * tckd + beta * nckd)
    return total / s.shape[0]


def dist_reference(s, t, y, beta, gamma, temp):
    """Huang et al. eqs. 8-11 with torch.corrcoef as the Pearson correlation."""
    ys, yt = torch.softmax(s / temp, 1), torch.softmax(t / temp, 1)
    inter = sum(1 - torch.corrcoef(torch.stack([ys[i], yt[i]]))[0, 1] for i in range(s.shape[0]))
    intra = sum(1 - torch.corrcoef(torch.stack([ys[:, j], yt[:, j]]))[0, 1] for j in range(s.shape[1]))
    ce = torch.nn.functional.cross_entropy(s, y)
    return ce + temp**2 * (beta * inter / s.shape[0] + gamma * intra / s.shape[1])


def _value_and_grad(fn, s, t, y):
    s = s.clone().requires_grad_(True)
    value = fn(s, t, y)
    (grad,) = torch.autograd.grad(value, s)
    return value.detach(), grad


CASES = [
    ("dkd published defaults", lambda: DKDLoss(), lambda s, t, y: dkd_reference(s, t, y, 1.0, 8.0, 4.0)),
    ("dkd other weights", lambda: DKDLoss(0.5, 2.0, 2.0),
     lambda s, t, y: dkd_reference(s, t, y, 0.5, 2.0, 2.0)),
    ("dist published defaults", lambda: DISTLoss(), lambda s, t, y: dist_reference(s, t, y, 1.0, 1.0, 1.0)),
    ("dist other weights", lambda: DISTLoss(2.0, 0.5, 4.0),
     lambda s, t, y: dist_reference(s, t, y, 2.0, 0.5, 4.0)),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name,make,reference", CASES, ids=[c[0] for c in CASES])
def test_logit_loss_value_and_gradient_match_the_papers_formulas(name, make, reference, dtype):
    s, t, y = _fixed(dtype)
    ours, ours_grad = _value_and_grad(make(), s, t, y)
    ref, ref_grad = _value_and_grad(reference, s.double(), t.double(), y)
    tol = 1e-6 if dtype == torch.float64 else 2e-5  # float32 rounding of O(10) values
    torch.testing.assert_close(ours.double(), ref, atol=tol, rtol=0)
    torch.testing.assert_close(ours_grad.double(), ref_grad, atol=tol, rtol=0)
    assert ref_grad.abs().max() > 1e-3  # the check compares real gradients


def test_dkd_terms_decompose_classical_kd():
    """Zhao et al. eq. 4: KL(p^T || p^S) = TCKD + (1 - p_t^T) NCKD, for every example."""
    s, t, y = _fixed()
    loss = DKDLoss(temperature=1.0)
    for i in range(s.shape[0]):
        tckd, nckd = loss.decoupled(s[i : i + 1], t[i : i + 1], y[i : i + 1])
        ps, pt = torch.softmax(s[i], 0), torch.softmax(t[i], 0)
        kl = (pt * (pt.log() - ps.log())).sum()
        torch.testing.assert_close(tckd + (1 - pt[y[i]]) * nckd, kl, atol=1e-12, rtol=0)


def test_dkd_warmup_ramps_the_distillation_weight_per_epoch():
    loss = DKDLoss()  # published: 20 of 240 epochs -> a 16-epoch phase ramps over 2 epochs
    assert warmup_epochs(20 / 240, 240) == 20 and warmup_epochs(20 / 240, 16) == 2
    weights = []
    for epoch in range(4):
        loss.set_progress(epoch, 16)
        weights.append(loss.weight)
    assert weights == [0.5, 1.0, 1.0, 1.0]
    s, t, y = _fixed()
    loss.set_progress(0, 16)
    half = loss(s, t, y)
    expected = dkd_reference(s, t, y, 1.0, 8.0, 4.0, weight=0.5)
    torch.testing.assert_close(half, expected, atol=1e-6, rtol=0)
    no_warmup = DKDLoss(warmup=0.0)
    no_warmup.set_progress(0, 16)
    assert no_warmup.weight == 1.0


def test_dist_is_zero_beyond_cross_entropy_when_student_matches_teacher():
    s, _, y = _fixed()
    value = DISTLoss()(s, s, y)
    assert math.isclose(float(value), float(torch.nn.functional.cross_entropy(s, y)), abs_tol=1e-9)


@pytest.mark.parametrize("make,match", [
    (lambda: DKDLoss(beta=-1.0), "dkd_beta must be a finite number >= 0"),
    (lambda: DKDLoss(warmup=2.0), "dkd_warmup must be a fraction"),
    (lambda: DISTLoss(temperature=0.0), "temperature"),
    (lambda: DISTLoss(gamma=float("nan")), "dist_gamma"),
])
def test_bad_logit_loss_settings_are_refused(make, match):
    with pytest.raises(ConfigError, match=match):
        make()
