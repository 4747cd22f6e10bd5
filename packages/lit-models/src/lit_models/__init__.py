"""lit-models: an architecture zoo with an explicit stage interface for LIT depth compression.

Every model has ``stem``, ``stages`` (``stages.0 … stages.N-1``), ``head``, ``feature_info``
(``num_chs``, ``reduction``, ``module`` per stage) and ``forward_stages(x)``.
"""

from . import cifar_resnet as _cifar_resnet  # noqa: F401  (registers the CIFAR ResNets)
from ._base import StagedNet
from ._registry import create_model, list_models, model_family, register_model
from .cifar_resnet import BasicBlock, CifarResNet

__version__ = "0.1.0"

__all__ = [
    "BasicBlock",
    "CifarResNet",
    "StagedNet",
    "__version__",
    "create_model",
    "list_models",
    "model_family",
    "register_model",
]
