"""FID, KID and IS with torchmetrics, and StarGAN's translation accuracy.

By default the feature network is the domain classifier (``classifier.py``): FID/KID on its
penultimate features, IS on its logits — NOT Inception, so the numbers rank models on this data
but are not comparable with published FIDs; every report says so. With ``inception_weights``
(a path to torchmetrics' FID Inception weights; needs ``torch-fidelity``) FID/KID are the
standard ones (IS stays on the classifier, torchmetrics' IS takes no weights path).
Images go to the metrics as floats in [0, 1] (``normalize=True``).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import MissingFileError, optional_import
from .data import DomainData, domain_targets
from .losses import translate

__all__ = ["ClassifierFeatures", "Scores", "evaluate_generator", "image_metrics", "require_torchmetrics"]


def require_torchmetrics() -> None:
    """Raise ``MissingExtraError`` (one line naming ``lit-core[gan]``) when torchmetrics is absent."""
    optional_import("torchmetrics", "gan", "the GAN task's FID/KID/IS")


def _torchmetrics():
    require_torchmetrics()
    # the submodules, not torchmetrics.image, which hides them when torch-fidelity is absent
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore
    from torchmetrics.image.kid import KernelInceptionDistance

    return FrechetInceptionDistance, KernelInceptionDistance, InceptionScore


class ClassifierFeatures(nn.Module):
    """A staged classifier as a torchmetrics feature network: [0, 1] images → features or logits.

    ``features`` is the head's input to its last (linear) layer, i.e. the pooled last stage.
    """

    def __init__(self, classifier: nn.Module, output: str = "features") -> None:
        super().__init__()
        if not isinstance(classifier.head, nn.Sequential) or not isinstance(classifier.head[-1], nn.Linear):
            raise TypeError("the metrics classifier's head must be an nn.Sequential ending in nn.Linear")
        self.classifier, self.output = classifier.eval(), output
        last = classifier.head[-1]
        self.num_features = last.in_features if output == "features" else last.out_features

    @torch.no_grad()
    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        c = self.classifier
        h = c.stem(x01.float() * 2 - 1)
        for stage in c.stages:
            h = stage(h)
        feats = c.head[:-1](h)
        return feats if self.output == "features" else c.head[-1](feats)


@dataclass
class Scores:
    """One generator's metrics and the sample counts behind them."""

    fid: float
    kid_mean: float
    kid_std: float
    is_mean: float
    is_std: float
    translation_acc: float
    n_real: int
    n_fake: int
    n_translations: int
    feature_net: str

    def as_dict(self) -> dict:
        return asdict(self)


class _Given(nn.Module):
    """Identity "feature network" for features computed beforehand (one classifier pass for all)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def image_metrics(real01: torch.Tensor, fake01: torch.Tensor, classifier: nn.Module, *,
                  kid_subset_size: int = 100, inception_weights: str | Path | None = None,
                  batch: int = 500) -> dict[str, float]:
    """FID, KID (mean, std) and IS of ``fake01`` against ``real01`` (both N×C×H×W in [0, 1])."""
    return _image_metrics(real01, fake01, classifier, kid_subset_size, inception_weights, batch)[0]


@torch.no_grad()
def _outputs(net: ClassifierFeatures, x01: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    feats = torch.cat([net(x01[i : i + batch]) for i in range(0, len(x01), batch)])
    return feats, net.classifier.head[-1](feats)


def _image_metrics(real01, fake01, classifier, kid_subset_size, inception_weights, batch):
    """The metrics and the classifier's logits on the fakes (for the translation accuracy)."""
    FID, KID, IS = _torchmetrics()
    subset = min(kid_subset_size, len(real01), len(fake01))
    net = ClassifierFeatures(classifier, "features")
    real_f, _ = _outputs(net, real01, batch)
    fake_f, fake_logits = _outputs(net, fake01, batch)
    with warnings.catch_warnings():  # "will save all extracted features in buffer": intended
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        if inception_weights:
            path = Path(inception_weights)
            if not path.is_file():
                raise MissingFileError(f"no Inception weights at {path} (eval.inception_weights)")
            try:
                import torch_fidelity  # noqa: F401
            except ImportError as e:
                raise ImportError("FID/KID with Inception weights need torch-fidelity: "
                                  "pip install 'lit-core[gan-inception]'") from e
            fid = FID(feature=2048, normalize=True, feature_extractor_weights_path=str(path))
            kid = KID(feature=2048, normalize=True, subset_size=subset)
            rgb = (lambda x: x.expand(-1, 3, -1, -1)) if real01.shape[1] == 1 else (lambda x: x)
            real_in = [rgb(real01[i : i + batch]) for i in range(0, len(real01), batch)]
            fake_in = [rgb(fake01[i : i + batch]) for i in range(0, len(fake01), batch)]
        else:  # the classifier's features, computed once above
            fid = FID(feature=_Given(net.num_features), normalize=True)
            kid = KID(feature=_Given(net.num_features), normalize=True, subset_size=subset)
            real_in, fake_in = [real_f], [fake_f]
        for part in real_in:
            fid.update(part, real=True)
            kid.update(part, real=True)
        for part in fake_in:
            fid.update(part, real=False)
            kid.update(part, real=False)
        # normalize=False: torchmetrics' IS would turn what it is given into bytes even for a custom net
        inception = IS(feature=_Given(fake_logits.shape[1]), normalize=False, splits=10)
        inception.update(fake_logits.double())  # float64: softmax of confident logits stays > 0
        kid_mean, kid_std = kid.compute()
        is_mean, is_std = inception.compute()
    return ({"fid": float(fid.compute()), "kid_mean": float(kid_mean), "kid_std": float(kid_std),
             "is_mean": float(is_mean), "is_std": float(is_std)}, fake_logits)


@torch.no_grad()
def evaluate_generator(g: nn.Module, data: DomainData, classifier: nn.Module, *, kid_subset_size: int = 100,
                       inception_weights: str | Path | None = None, batch: int = 250) -> Scores:
    """Translate every test image to every domain; score the translations against the test images.

    Translation accuracy counts the pairs whose target differs from the source (single-label:
    argmax = target; multi-label: the changed attribute(s) read as the target).
    """
    g.train()  # instance statistics, as the paper's code (see lit_models.stargan)
    classifier.eval()
    fakes, sources, targets = [], [], []
    for i in range(0, len(data.test), batch):
        x, c_org = data.test.images[i : i + batch], data.test.labels[i : i + batch]
        for c in domain_targets(c_org, data.kind, data.domains):
            fakes.append(translate(g, x, c))
            sources.append(c_org)
            targets.append(c)
    fake01 = ((torch.cat(fakes) + 1) / 2).clamp(0, 1)
    real01 = (data.test.images + 1) / 2
    with torch.random.fork_rng():  # KID's subsets and IS's splits are random: seed them, locally
        torch.manual_seed(0)
        m, logits = _image_metrics(real01, fake01, classifier, kid_subset_size, inception_weights, 500)
    c_org, c = torch.cat(sources), torch.cat(targets)
    changed = (c != c_org).any(1)  # pairs that ask for a different domain
    if data.kind == "single":
        ok = logits.argmax(1) == c.argmax(1)
    else:  # every changed attribute read as the target
        ok = (((logits > 0).float() == c) | (c == c_org)).all(1)
    hits, pairs = ok[changed].float().sum().item(), int(changed.sum())
    net = "Inception-v3 (FID/KID) + domain classifier (IS)" if inception_weights else "domain classifier (not Inception)"
    return Scores(**m, translation_acc=hits / max(pairs, 1), n_real=len(real01), n_fake=len(fake01),
                  n_translations=pairs, feature_net=net)
