"""timm's classifier interface, checked on every registered classification model."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from test_models_contract import HEAVY, build_small

import lit_models
from lit_models import ClassifierNet

# GAN models have no linear classifier (see the StarGAN class docstrings); every other
# registered model must be a ClassifierNet, so a new classifier cannot skip this contract.
NOT_CLASSIFIERS = {"stargan_generator", "stargan_discriminator"}
CLASSIFIERS = [n for n in lit_models.list_models() if n not in NOT_CLASSIFIERS]


def _params() -> list:
    return [pytest.param(n, marks=[pytest.mark.slow] if n in HEAVY else [], id=n) for n in CLASSIFIERS]


def test_only_gan_models_lack_the_classifier_interface() -> None:
    for name in lit_models.list_models():
        is_classifier = isinstance(build_small(name), ClassifierNet)
        assert is_classifier == (name not in NOT_CLASSIFIERS), name


@pytest.mark.parametrize("name", _params())
def test_model_satisfies_timm_classifier_contract(name: str) -> None:
    model = build_small(name)
    x = model.example_input(batch_size=2)
    with torch.no_grad():  # one train-mode pass sets BN running stats (fresh ones overflow in resnet1202)
        model(x)
    model.eval()
    cfg = model.pretrained_cfg
    assert set(cfg) >= {"input_size", "mean", "std", "num_classes"}
    assert cfg["input_size"] == model.input_size == tuple(x.shape[1:])
    assert cfg["num_classes"] == model.num_classes
    if x.dtype == torch.long:  # token ids (VDCNN): no image statistics
        assert cfg["mean"] is None and cfg["std"] is None
    else:
        assert len(cfg["mean"]) == len(cfg["std"]) == model.input_size[0]

    classifier = model.get_classifier()
    assert isinstance(classifier, nn.Linear) and classifier is model.head[-1]
    with torch.no_grad():
        out = model(x)
        feats = model.forward_features(x)
        torch.testing.assert_close(model.forward_head(feats), out, rtol=1e-4, atol=1e-5)
        assert feats.shape[1] == model.feature_info[-1]["num_chs"]
        pre = model.forward_head(feats, pre_logits=True)
        assert pre.shape == (2, classifier.in_features)
        torch.testing.assert_close(classifier(pre), out, rtol=1e-4, atol=1e-5)
    assert out.shape == (2, model.num_classes) and torch.isfinite(out).all()

    n = model.num_classes + 3
    model.reset_classifier(n)
    assert model.num_classes == n == model.pretrained_cfg["num_classes"]
    assert model.get_classifier() is model.head[-1] and model.get_classifier().out_features == n
    with torch.no_grad():
        assert model(x).shape == (2, n)


def test_reset_classifier_zero_returns_pre_logits() -> None:
    model = build_small("resnet20").eval()
    x = model.example_input(batch_size=2)
    with torch.no_grad():
        pre = model.forward_head(model.forward_features(x), pre_logits=True)
        model.reset_classifier(0)
        torch.testing.assert_close(model(x), pre)
    assert model.num_classes == 0 and isinstance(model.get_classifier(), nn.Identity)


def test_reset_classifier_keeps_dtype_and_trains() -> None:
    model = build_small("resnet8").double()
    model.reset_classifier(4)
    assert model.get_classifier().weight.dtype == torch.float64
    x = model.example_input(batch_size=2).double()
    model(x).sum().backward()
    assert model.get_classifier().weight.grad is not None


@pytest.mark.parametrize("bad", [-1, 2.5, True, "10"])
def test_reset_classifier_rejects_bad_num_classes(bad) -> None:
    model = build_small("resnet8")
    before = model.get_classifier()
    with pytest.raises(ValueError, match="num_classes must be an integer >= 0"):
        model.reset_classifier(bad)
    assert model.get_classifier() is before


def test_in_chans_other_than_three_has_no_image_statistics() -> None:
    model = lit_models.create_model("resnet8", in_chans=1, img_size=16)
    assert model.pretrained_cfg["mean"] is None and model.pretrained_cfg["std"] is None
    rgb = lit_models.create_model("resnet18", img_size=32)
    assert rgb.pretrained_cfg["mean"] == lit_models._base.IMAGENET_MEAN
