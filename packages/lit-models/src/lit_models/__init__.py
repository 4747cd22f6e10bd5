"""lit-models: an architecture zoo with an explicit stage interface for LIT depth compression.

Every model has ``stem``, ``stages`` (``stages.0 … stages.N-1``), ``head``, ``feature_info``
(``num_chs``, ``reduction``, ``module`` per stage) and ``forward_stages(x)``. Families:
CIFAR ResNets, CIFAR ResNeXt, VDCNN, StarGAN, torchvision ResNets; ``as_staged`` wraps any
other model by module names. Classification models are ``ClassifierNet``s with timm's classifier
interface (``num_classes``, ``get_classifier``, ``reset_classifier``, ``forward_features``,
``forward_head``, ``pretrained_cfg``).
"""

# Importing the family modules registers their models (explicit imports, no star).
from . import cifar_resnet as _cifar_resnet  # noqa: F401
from . import resnext as _resnext  # noqa: F401
from . import stargan as _stargan  # noqa: F401
from . import torchvision_resnet as _torchvision_resnet  # noqa: F401
from . import vdcnn as _vdcnn  # noqa: F401
from ._base import ClassifierNet, StagedNet
from ._registry import create_model, list_models, model_family, register_model
from .cifar_resnet import BasicBlock, CifarResNet
from .resnext import CifarResNeXt, ResNeXtBottleneck
from .staged import as_staged
from .stargan import StarGANDiscriminator, StarGANGenerator, tile_domain
from .torchvision_resnet import TorchvisionResNet, torchvision_state_dict
from .vdcnn import ALPHABET, VDCNN, KMaxPool1d, encode_text

__version__ = "0.1.0"

__all__ = [
    "ALPHABET",
    "VDCNN",
    "BasicBlock",
    "CifarResNeXt",
    "CifarResNet",
    "ClassifierNet",
    "KMaxPool1d",
    "ResNeXtBottleneck",
    "StagedNet",
    "StarGANDiscriminator",
    "StarGANGenerator",
    "TorchvisionResNet",
    "__version__",
    "as_staged",
    "create_model",
    "encode_text",
    "list_models",
    "model_family",
    "register_model",
    "tile_domain",
    "torchvision_state_dict",
]
