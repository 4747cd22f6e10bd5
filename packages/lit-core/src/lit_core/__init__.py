"""lit-core: LIT (Learned Intermediate representation Training) losses, trainer, data and CLI.

The names below are the public API. Subpackages group the rest by concern: ``method`` (eqs. 1–3
and the LIT step), ``training`` (``fit`` and its machinery), ``models``, ``data``, ``io``, ``app``
(what the ``lit`` commands do), ``cli``, ``studies`` and ``gan``.
"""

from .io.checkpoint import load_checkpoint, load_model_weights, load_state_into, save_atomic
from .method.criterion import LITCriterion
from .method.lit import (
    IRPlan,
    StudentForward,
    check_alignment,
    copy_stem_and_head,
    lit_step,
    make_plan,
    teacher_forward,
)
from .method.losses import IRLoss, KDLoss, LITLoss, LossParts
from .method.methods import METHODS, MethodConfig, get_method, student_architecture
from .method.staged import StagedModel, require_staged
from .method.wrap import StagedWrapper, as_staged, unwrap
from .models.build import build_model
from .training.compress import CompressResult, compress
from .training.config import TrainConfig
from .training.distributed import DistInfo, RankSlice, dist_info, init_distributed
from .training.metrics import MetricsLogger, read_metrics
from .training.runtime import deterministic_mode, resolve_device, seed_everything
from .training.step import NonFiniteLossError, TrainStep, make_train_step
from .training.trainer import Evaluation, FitResult, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "CompressResult",
    "DistInfo",
    "Evaluation",
    "FitResult",
    "IRLoss",
    "IRPlan",
    "KDLoss",
    "LITCriterion",
    "LITLoss",
    "LossParts",
    "MethodConfig",
    "MetricsLogger",
    "NonFiniteLossError",
    "RankSlice",
    "StagedModel",
    "StagedWrapper",
    "StudentForward",
    "TrainConfig",
    "TrainStep",
    "__version__",
    "as_staged",
    "build_model",
    "check_alignment",
    "compress",
    "copy_stem_and_head",
    "deterministic_mode",
    "dist_info",
    "evaluate",
    "fit",
    "get_method",
    "init_distributed",
    "lit_step",
    "load_checkpoint",
    "load_model_weights",
    "load_state_into",
    "make_plan",
    "make_train_step",
    "read_metrics",
    "require_staged",
    "resolve_device",
    "save_atomic",
    "seed_everything",
    "student_architecture",
    "teacher_forward",
    "unwrap",
]
