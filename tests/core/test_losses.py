"""The losses against hand-computed references of the paper's eqs. 1-3."""

from __future__ import annotations

import math

import pytest
import torch

from lit_core import IRLoss, KDLoss, LITLoss, TrainConfig


def _kd_reference(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, alpha: float, tau: float):
    """Eq. 2 written out sample by sample with explicit sums (no torch.nn.functional)."""
    total = 0.0
    for i in range(s.shape[0]):
        es = [math.exp(v) for v in s[i].tolist()]
        ce = -math.log(es[int(y[i])] / sum(es))
        et = [math.exp(v / tau) for v in t[i].tolist()]
        q = [e / sum(et) for e in et]
        ep = [math.exp(v / tau) for v in s[i].tolist()]
        log_p = [math.log(e / sum(ep)) for e in ep]
        h = -sum(qc * lc for qc, lc in zip(q, log_p, strict=True))
        total += alpha * ce + (1 - alpha) * tau * tau * h
    return total / s.shape[0]


def test_kd_two_class_example_by_hand():
    # student logits (1, 0), teacher (0, 1), label 0, alpha 0.5, tau 2:
    # CE = log(1 + e^-1) = 0.313262; q = softmax(0, 0.5) = (0.377541, 0.622459);
    # log p = log_softmax(0.5, 0) = (-0.474077, -0.974077); H = 0.785307;
    # eq. 2 = 0.5 * 0.313262 + 0.5 * 4 * 0.785307 = 1.727244
    ce = math.log(1 + math.exp(-1))
    q = (1 / (1 + math.exp(0.5)), math.exp(0.5) / (1 + math.exp(0.5)))
    log_p = (-math.log(1 + math.exp(-0.5)), -math.log(1 + math.exp(0.5)))
    h = -(q[0] * log_p[0] + q[1] * log_p[1])
    expected = 0.5 * ce + 0.5 * 4 * h
    assert expected == pytest.approx(1.727244, abs=1e-6)
    loss = KDLoss(alpha=0.5, temperature=2.0)(
        torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([0])
    )
    assert loss.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("alpha", "tau"), [(0.95, 6.0), (0.3, 1.0), (0.0, 4.0)])
def test_kd_matches_explicit_sums(alpha, tau):
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(5, 7, generator=g) * 3, torch.randn(5, 7, generator=g) * 3
    y = torch.randint(0, 7, (5,), generator=g)
    loss = KDLoss(alpha, tau)(s, t, y)
    assert loss.item() == pytest.approx(_kd_reference(s, t, y, alpha, tau), rel=1e-5)


def test_kd_with_alpha_one_is_cross_entropy_and_needs_no_teacher():
    s, y = torch.tensor([[2.0, -1.0, 0.5]]), torch.tensor([2])
    expected = -math.log(math.exp(0.5) / (math.exp(2.0) + math.exp(-1.0) + math.exp(0.5)))
    assert KDLoss(1.0, 6.0)(s, None, y).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="needs teacher logits"):
        KDLoss(0.5, 6.0)(s, None, y)


def test_ir_losses_match_their_formulas():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g)
    d = (a - b).flatten().tolist()
    n = len(d)
    assert IRLoss("l2")(a, b).item() == pytest.approx(sum(v * v for v in d) / n, rel=1e-5)
    assert IRLoss("l1")(a, b).item() == pytest.approx(sum(abs(v) for v in d) / n, rel=1e-5)
    smooth = sum(0.5 * v * v if abs(v) < 1 else abs(v) - 0.5 for v in d) / n
    assert IRLoss("smooth_l1")(a, b).item() == pytest.approx(smooth, rel=1e-5)


def test_lit_objective_is_beta_mix_of_kd_and_summed_irs():
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(4, 10, generator=g), torch.randn(4, 10, generator=g)
    y = torch.randint(0, 10, (4,), generator=g)
    s_irs = [torch.randn(4, 2, 3, 3, generator=g) for _ in range(3)]
    t_irs = [torch.randn(4, 2, 3, 3, generator=g) for _ in range(3)]
    alpha, tau, beta = 0.9, 4.0, 0.75
    kd = _kd_reference(s.double(), t.double(), y, alpha, tau)
    ir = sum(((si - ti) ** 2).sum().item() / si.numel() for si, ti in zip(s_irs, t_irs, strict=True))
    parts = LITLoss(alpha, tau, beta, "l2")(s, t, y, s_irs, t_irs)
    assert parts.kd.item() == pytest.approx(kd, rel=1e-5)  # eq. 2
    assert parts.ir.item() == pytest.approx(ir, rel=1e-5)  # eq. 3
    assert parts.total.item() == pytest.approx(beta * kd + (1 - beta) * ir, rel=1e-5)  # eq. 1


def test_lit_objective_extremes_need_only_their_term():
    y = torch.tensor([1, 0])
    irs = [torch.ones(2, 3)], [torch.zeros(2, 3)]
    assert LITLoss(beta=0.0)(None, None, y, *irs).total.item() == pytest.approx(1.0)
    logits = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    only_kd = LITLoss(alpha=1.0, beta=1.0)(logits, None, y).total.item()
    assert only_kd == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)


@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (lambda: KDLoss(alpha=1.5), r"alpha must be in \[0, 1\]; got 1.5"),
        (lambda: KDLoss(alpha=-0.1), r"alpha must be in \[0, 1\]; got -0.1"),
        (lambda: KDLoss(temperature=0.0), r"temperature \(tau\) must be a finite number > 0; got 0.0"),
        (lambda: LITLoss(beta=1.2), r"beta must be in \[0, 1\]; got 1.2"),
        (lambda: IRLoss("l3"), "ir loss kind must be one of l2, l1, smooth_l1"),
        (lambda: TrainConfig(device="cpu", beta=-1), r"beta must be in \[0, 1\]; got -1"),
        (lambda: TrainConfig(device="cpu", temperature=-2.0), r"temperature \(tau\) must be a finite number > 0; got -2.0"),
        (lambda: TrainConfig(device="cpu", alpha=2), r"alpha must be in \[0, 1\]; got 2"),
    ],
)
def test_out_of_range_hyperparameters_name_the_parameter(build, pattern):
    with pytest.raises(ValueError, match=pattern):
        build()
