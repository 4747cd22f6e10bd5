"""Parameter counts against the published figures."""

from __future__ import annotations

import pytest
import torch

import lit_models


def _count(name: str, **kwargs) -> int:
    with torch.device("meta"):  # shapes only: counting needs no weights
        model = lit_models.create_model(name, **kwargs)
    return sum(p.numel() for p in model.parameters())


# He et al. 2016, Table 6 (option A, CIFAR-10): published figure, its decimals, exact reference.
CIFAR_RESNETS = [
    ("resnet20", 0.27, 2, 269_722),
    ("resnet32", 0.46, 2, 464_154),
    ("resnet44", 0.66, 2, 658_586),
    ("resnet56", 0.85, 2, 853_018),
    ("resnet110", 1.7, 1, 1_727_962),
    ("resnet1202", 19.4, 1, 19_421_274),
]


@pytest.mark.parametrize(("name", "published_m", "decimals", "reference"), CIFAR_RESNETS)
def test_cifar_resnet_matches_published_parameter_count(name, published_m, decimals, reference):
    n = _count(name, num_classes=10)
    assert abs(n - reference) <= 0.01 * reference
    assert round(n / 1e6, decimals) == published_m


@pytest.mark.parametrize(
    ("name", "num_classes", "published_m"),
    [
        ("resnext29_8x64d", 10, 34.4),  # Xie et al. 2017, Table 7
        ("resnext29_16x64d", 10, 68.1),
        ("resnet8x4", 100, 1.23),  # CRD (Tian et al. 2020), CIFAR-100
        ("resnet32x4", 100, 7.43),
    ],
)
def test_model_matches_published_parameter_count_within_1_percent(name, num_classes, published_m):
    n = _count(name, num_classes=num_classes)
    assert abs(n / 1e6 - published_m) <= 0.01 * published_m


def test_lit_resnext_pair_compresses_about_5_5x():
    """LIT compresses ResNeXt-110 to ResNeXt-20 by 5.5x (Koratana et al. 2019)."""
    ratio = _count("resnext110_32x4d") / _count("resnext20_32x4d")
    assert ratio == pytest.approx(5.5, abs=0.05)


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2"])
def test_torchvision_resnet_keeps_every_torchvision_parameter(name):
    import torchvision.models as tvm

    with torch.device("meta"):
        reference = getattr(tvm, name)(weights=None)
    assert _count(name) == sum(p.numel() for p in reference.parameters())
