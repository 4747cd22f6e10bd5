"""lit-core: LIT (Learned Intermediate representation Training) losses, trainer, data and CLI."""

from .checkpoint import load_checkpoint, load_model_weights, load_state_into, save_atomic
from .config import TrainConfig
from .distributed import DistInfo, RankSlice, dist_info, init_distributed
from .lit import (
    IRPlan,
    StudentForward,
    check_alignment,
    copy_stem_and_head,
    lit_step,
    make_plan,
    teacher_forward,
)
from .losses import IRLoss, KDLoss, LITLoss, LossParts
from .methods import METHODS, MethodConfig, get_method, student_architecture
from .metrics import MetricsLogger, read_metrics
from .models import build_model
from .runtime import deterministic_mode, resolve_device, seed_everything
from .staged import StagedModel, require_staged
from .step import NonFiniteLossError, TrainStep, make_train_step
from .trainer import Evaluation, FitResult, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "DistInfo",
    "Evaluation",
    "FitResult",
    "IRLoss",
    "IRPlan",
    "KDLoss",
    "LITLoss",
    "LossParts",
    "MethodConfig",
    "MetricsLogger",
    "NonFiniteLossError",
    "RankSlice",
    "StagedModel",
    "StudentForward",
    "TrainConfig",
    "TrainStep",
    "__version__",
    "build_model",
    "check_alignment",
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
]
