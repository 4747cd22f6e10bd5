"""The StarGAN objective and loop: gradient penalty, a few real steps, resume."""

from __future__ import annotations

import torch
import torch.nn as nn
from gan_tiny import discriminator, domain_data, generator

from lit_core.gan.losses import GanWeights, domain_loss, gradient_penalty
from lit_core.gan.train import GanSchedule, train_gan


class _LinearCritic(nn.Module):
    """D_src(x) = <w, x>: its input gradient is w everywhere, so GP = (‖w‖ − 1)²."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1, keepdim=True), None


def test_gradient_penalty_of_a_linear_critic_is_its_norm_minus_one_squared():
    w = torch.full((1, 2, 2), 1.0)  # ‖w‖ = 2
    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    assert torch.allclose(gradient_penalty(_LinearCritic(w), real, fake), torch.tensor(1.0))


def test_domain_loss_is_softmax_ce_for_classes_and_summed_bce_for_attributes():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    target = torch.eye(2)
    ce = domain_loss(logits, target, "single")
    assert torch.allclose(ce, nn.functional.cross_entropy(logits, torch.tensor([0, 1])))
    bce = domain_loss(logits, target, "multi")
    assert torch.allclose(bce, 2 * nn.functional.binary_cross_entropy_with_logits(logits, target))


def test_a_few_stargan_iterations_update_both_nets_and_resume_continues(tmp_path):
    data = domain_data(n=32)
    g, d = generator(data, [1]), discriminator(data)
    g0 = [p.detach().clone() for p in g.parameters()]
    sched = GanSchedule(iters=4, decay_iters=2, batch_size=8, n_critic=2, log_every=2, save_every=2)
    hist = train_gan(g, d, data, sched, GanWeights(), ckpt_path=tmp_path / "s.pt")
    assert [h["iter"] for h in hist] == [2, 4]
    assert {"D/gp", "G/rec", "G/cls"} <= set(hist[-1]) and all(torch.isfinite(torch.tensor(v)) for v in hist[-1].values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, g.parameters(), strict=True))
    longer = GanSchedule(**{**sched.__dict__, "iters": 6})
    hist2 = train_gan(generator(data, [1]), discriminator(data), data, longer, GanWeights(),
                      ckpt_path=tmp_path / "s.pt", resume=True)
    assert [h["iter"] for h in hist2] == [2, 4, 6]  # picked up at iteration 4


def test_lr_decays_linearly_to_zero_over_the_last_iterations():
    s = GanSchedule(iters=10, decay_iters=4)
    assert [s.lr_scale(i) for i in (0, 6, 8, 9)] == [1.0, 1.0, 0.5, 0.25]


def test_a_fixed_discriminator_stays_bit_identical_while_the_generator_trains():
    data = domain_data(n=32)
    g, d = generator(data, [1]), discriminator(data)
    g0 = [p.detach().clone() for p in g.parameters()]
    d0 = {k: v.clone() for k, v in d.state_dict().items()}
    sched = GanSchedule(iters=4, decay_iters=2, batch_size=8, n_critic=2, log_every=2, save_every=4)
    hist = train_gan(g, d, data, sched, GanWeights(), train_d=False)
    assert all(torch.equal(d0[k], v) for k, v in d.state_dict().items())
    assert any(not torch.equal(a, b) for a, b in zip(g0, g.parameters(), strict=True))
    assert "D/gp" not in hist[-1] and "G/cls" in hist[-1]  # no D step was taken, G steps were


def test_a_trained_discriminator_changes():
    data = domain_data(n=32)
    g, d = generator(data, [1]), discriminator(data)
    d0 = {k: v.clone() for k, v in d.state_dict().items()}
    sched = GanSchedule(iters=2, decay_iters=1, batch_size=8, n_critic=2, log_every=2, save_every=2)
    train_gan(g, d, data, sched, GanWeights())
    assert any(not torch.equal(d0[k], v) for k, v in d.state_dict().items())


def test_an_unknown_finetune_mode_is_one_config_error():
    import pytest

    from lit_core.errors import ConfigError
    from lit_core.gan.config import validate

    with pytest.raises(ConfigError, match=r"train.lit.finetune must be one of fixed_d, trained_d, frozen_g"):
        validate({"train": {"lit": {"finetune": "both"}}})


def test_train_gan_gives_the_discriminators_requires_grad_back_as_it_was():
    data = domain_data(n=32)
    sched = GanSchedule(iters=2, decay_iters=1, batch_size=8, n_critic=2, log_every=2, save_every=2)
    for train_d in (False, True):
        g, d = generator(data, [1]), discriminator(data)
        params = list(d.parameters())
        params[0].requires_grad_(False)  # a caller's own choice, e.g. a partly frozen D
        before = [p.requires_grad for p in params]
        assert not all(before) and any(before)
        train_gan(g, d, data, sched, GanWeights(), train_d=train_d)
        assert [p.requires_grad for p in params] == before, f"train_d={train_d}"


def test_train_gan_restores_the_flags_when_training_stops_with_an_error():
    import pytest

    data = domain_data(n=32)
    g, d = generator(data, [1]), discriminator(data)
    sched = GanSchedule(iters=4, decay_iters=1, batch_size=8, n_critic=2, log_every=2, save_every=4)

    def stop(record: dict) -> None:  # e.g. a caller's logger that fails mid-run
        raise RuntimeError(f"stopped at {record['iter']}")

    with pytest.raises(RuntimeError, match="stopped at 2"):
        train_gan(g, d, data, sched, GanWeights(), train_d=False, log=stop)
    assert all(p.requires_grad for p in d.parameters())
