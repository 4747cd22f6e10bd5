"""FID / KID / IS on a classifier's features, on tiny inputs with known answers."""

from __future__ import annotations

import pytest
import torch
from gan_tiny import domain_data, generator

from lit_core.gan.metrics import ClassifierFeatures, evaluate_generator, image_metrics
from lit_models import create_model


def _classifier():
    torch.manual_seed(0)
    return create_model("resnet8", num_classes=3, in_chans=1, img_size=8).eval()


def _images(n=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=g)


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_a_shift():
    clf, real = _classifier(), _images()
    same = image_metrics(real, real.clone(), clf, kid_subset_size=50)
    shifted = image_metrics(real, (real * 0.5 + 0.5), clf, kid_subset_size=50)
    further = image_metrics(real, torch.ones_like(real) * 0.9 + 0.1 * real, clf, kid_subset_size=50)
    assert abs(same["fid"]) < 1e-3
    assert abs(same["kid_mean"]) < 0.1 * shifted["kid_mean"]
    assert shifted["fid"] > 100 * max(abs(same["fid"]), 1e-6)
    assert further["fid"] > shifted["fid"] > 0


def test_inception_score_of_identical_images_is_one():
    constant = torch.full((60, 1, 8, 8), 0.3)
    scores = image_metrics(_images(60), constant, _classifier(), kid_subset_size=20)
    assert scores["is_mean"] == pytest.approx(1.0, abs=1e-4)


def test_classifier_features_are_the_pooled_last_stage_in_zero_one_range():
    clf = _classifier()
    feats = ClassifierFeatures(clf)
    x01 = _images(4)
    x = x01 * 2 - 1
    h = clf.stem(x)
    for s in clf.stages:
        h = s(h)
    assert feats.num_features == h.shape[1]
    assert torch.allclose(feats(x01), h.mean((2, 3)), atol=1e-6)
    assert torch.allclose(ClassifierFeatures(clf, "logits")(x01), clf(x), atol=1e-6)


def test_evaluate_generator_counts_every_translation_and_scores_accuracy():
    data = domain_data(n=12)
    scores = evaluate_generator(generator(data, [1]), data, _classifier(), kid_subset_size=6)
    assert scores.n_real == 6 and scores.n_fake == 6 * 3  # every test image to every domain
    assert scores.n_translations == 6 * 2  # pairs whose target differs from the source
    assert 0.0 <= scores.translation_acc <= 1.0
    assert "not Inception" in scores.feature_net


class _Threshold(torch.nn.Module):
    """A confident two-class 'classifier' of 8×8 images: dark → class 0, light → class 1."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.stages = torch.nn.Identity(), torch.nn.ModuleList([torch.nn.Identity()])
        linear = torch.nn.Linear(64, 2, bias=False)
        with torch.no_grad():
            linear.weight.copy_(torch.stack([-torch.ones(64), torch.ones(64)]))
        self.head = torch.nn.Sequential(torch.nn.Flatten(1), linear)


def test_inception_score_of_two_equally_likely_confident_classes_is_two():
    half = torch.zeros(500, 1, 8, 8)
    fakes = torch.cat([half, half + 1])  # classified 0 / 1 with logit margins of 128
    score = image_metrics(fakes, fakes, _Threshold(), kid_subset_size=50)["is_mean"]
    assert 1.9 < score <= 2.0 + 1e-6


def test_evaluation_is_repeatable_including_kid_subsets_and_is_splits():
    data = domain_data(n=12)
    g, clf = generator(data, [1]), _classifier()
    torch.manual_seed(1)
    a = evaluate_generator(g, data, clf, kid_subset_size=6)
    torch.manual_seed(2)
    b = evaluate_generator(g, data, clf, kid_subset_size=6)
    assert a == b
