"""The official StarGAN checkpoint layouts load through the explicit key mapping."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from gan_tiny import domain_data, generator

from lit_core.gan.models import build_discriminator
from lit_core.gan.official import convert_discriminator, convert_generator
from lit_core.gan.teacher_files import load_teacher
from lit_models import tile_domain


def _norm(c: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(c, affine=True, track_running_stats=True)


class _OfficialBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), _norm(c), nn.ReLU(inplace=True),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False), _norm(c))

    def forward(self, x):
        return x + self.main(x)


def _official_generator_layers(in_chans: int, c_dim: int, conv_dim: int, repeat: int) -> list[nn.Module]:
    """The layer list of yunjey/stargan's Generator (built here, in the test, from its model.py)."""
    layers: list[nn.Module] = [nn.Conv2d(in_chans + c_dim, conv_dim, 7, 1, 3, bias=False), _norm(conv_dim),
                               nn.ReLU(inplace=True)]
    c = conv_dim
    for _ in range(2):
        layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), _norm(2 * c), nn.ReLU(inplace=True)]
        c *= 2
    layers += [_OfficialBlock(c) for _ in range(repeat)]
    for _ in range(2):
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), _norm(c // 2), nn.ReLU(inplace=True)]
        c //= 2
    return [*layers, nn.Conv2d(c, in_chans, 7, 1, 3, bias=False), nn.Tanh()]


class OfficialGenerator(nn.Module):
    def __init__(self, in_chans=1, c_dim=3, conv_dim=4, repeat=4) -> None:
        super().__init__()
        self.main = nn.Sequential(*_official_generator_layers(in_chans, c_dim, conv_dim, repeat))


class ForkGenerator(nn.Module):
    """lit-code's fork: the same layers in downsampling / bottleneck_section1 / upsampling."""

    def __init__(self, in_chans=1, c_dim=3, conv_dim=4, repeat=4) -> None:
        super().__init__()
        layers = _official_generator_layers(in_chans, c_dim, conv_dim, repeat)
        self.downsampling_layers = nn.Sequential(*layers[:9])
        self.bottleneck_section1 = nn.Sequential(*layers[9 : 9 + repeat])
        self.upsampling_layers = nn.Sequential(*layers[9 + repeat :])


class OfficialDiscriminator(nn.Module):
    def __init__(self, in_chans=1, c_dim=3, conv_dim=4, repeat=2, image_size=8) -> None:
        super().__init__()
        layers, c = [nn.Conv2d(in_chans, conv_dim, 4, 2, 1), nn.LeakyReLU(0.01)], conv_dim
        for _ in range(1, repeat):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1), nn.LeakyReLU(0.01)]
            c *= 2
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(c, 1, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(c, c_dim, image_size // 2**repeat, bias=False)

    def forward(self, x):
        h = self.main(x)
        return self.conv1(h), self.conv2(h).flatten(1)


def _randomise(m: nn.Module) -> nn.Module:
    torch.manual_seed(3)
    with torch.no_grad():
        for t in m.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn_like(t) * 0.3 + (1.0 if t.dim() == 1 else 0.0))
    return m


@pytest.mark.parametrize("layout", [OfficialGenerator, ForkGenerator])
def test_official_generator_weights_map_onto_our_names_and_compute_the_same(layout):
    data = domain_data()
    official = _randomise(layout())
    ours = generator(data, [2, 2])
    ours.load_state_dict(convert_generator(official.state_dict(), [2, 2]))
    x = tile_domain(data.test.images[:4], data.test.labels[:4])
    ref = official.main(x) if layout is OfficialGenerator else official.upsampling_layers(
        official.bottleneck_section1(official.downsampling_layers(x)))
    assert torch.allclose(ours(x), ref, atol=1e-6)
    sd = ours.state_dict()
    assert torch.equal(sd["stages.1.0.body.0.weight"], official.state_dict()[
        "main.11.main.0.weight" if layout is OfficialGenerator else "bottleneck_section1.2.main.0.weight"])


def test_official_discriminator_weights_map_and_compute_the_same():
    data = domain_data()
    official = _randomise(OfficialDiscriminator())
    ours = build_discriminator({"d_conv_dim": 4, "d_repeat_num": 2}, data)
    ours.load_state_dict(convert_discriminator(official.state_dict()))
    x = data.test.images[:4]
    for a, b in zip(ours(x), official(x), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_keys_that_do_not_map_are_one_clear_error():
    sd = OfficialGenerator().state_dict()
    sd["main.40.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"key 'main.40.weight' does not map onto the StarGAN generator"):
        convert_generator(sd, [4])
    with pytest.raises(ValueError, match=r"4 residual blocks but the model has 6"):
        convert_generator(OfficialGenerator().state_dict(), [6])
    with pytest.raises(ValueError, match=r"key 'fc.weight' does not map onto the StarGAN discriminator"):
        convert_discriminator({"fc.weight": torch.zeros(1)})


def test_an_official_g_and_d_pair_loads_as_teacher(tmp_path):
    data = domain_data()
    g_off, d_off = _randomise(OfficialGenerator()), _randomise(OfficialDiscriminator())
    torch.save(g_off.state_dict(), tmp_path / "200000-G.ckpt")
    torch.save(d_off.state_dict(), tmp_path / "200000-D.ckpt")
    g, d = generator(data, [4]), build_discriminator({"d_conv_dim": 4, "d_repeat_num": 2}, data)
    meta = load_teacher(tmp_path / "200000-G.ckpt", g, d)
    assert meta["has_d"]
    assert torch.equal(g.state_dict()["head.6.weight"], g_off.state_dict()["main.19.weight"])
    assert torch.equal(d.state_dict()["head.cls.weight"], d_off.state_dict()["conv2.weight"])
    torch.save({"fc.weight": torch.zeros(2)}, tmp_path / "other.ckpt")
    with pytest.raises(ValueError, match=r"key 'fc.weight' does not map onto a StarGAN generator"):
        load_teacher(tmp_path / "other.ckpt", g, d)
