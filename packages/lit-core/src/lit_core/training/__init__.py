"""Training machinery: ``fit``, one optimisation step, and what a run executes on.

``config`` (``TrainConfig``), ``trainer`` (the two-phase ``fit``), ``compress`` (the one call:
teacher training when asked, then ``fit``), ``optim`` (optimiser and schedule factories),
``step`` (one step of a phase), ``compile``, ``teacher_cache`` and ``teacher_copy`` (the frozen teacher, fast), ``distributed``
(DDP), ``evaluation``, ``metrics``, ``runtime`` (device, precision, seeds, determinism) and
``rundir`` (the run-directory policy ``fit`` follows). Builds on ``lit_core.method``,
``lit_core.data``, ``lit_core.models`` and ``lit_core.io``; never on the application above it.
"""

from .compile import COMPILE_MODES, compile_options, compile_teacher, compiled, mark_step_begin
from .compress import CompressResult, compress
from .config import PRECISIONS, TrainConfig
from .distributed import (
    DistInfo,
    RankSlice,
    all_reduce_sum,
    barrier,
    dist_info,
    init_distributed,
    shutdown_distributed,
)
from .evaluation import Evaluation, evaluate
from .metrics import METRICS_FILE, MetricsLogger, read_metrics
from .optim import OptimizerFactory, SchedulerFactory, build_optimizer, build_scheduler
from .rundir import check_run_dir, prepare_fit_dir, resolve_path, run_dir_path
from .runtime import autocast, deterministic_mode, resolve_device, seed_everything, to_device
from .step import (
    NonFiniteLossError,
    Phase,
    TrainingSetup,
    TrainStep,
    build_phases,
    check_pair,
    freeze_for_phase,
    inference_teacher,
    make_phase_step,
    make_train_step,
    setup_training,
)
from .teacher_cache import BF16_REL_ERROR, CACHE_DTYPES, TeacherCache
from .teacher_copy import CAST_TYPES, inference_copy, plan_for
from .trainer import BEST_CHECKPOINT, LAST_CHECKPOINT, FitResult, fit

__all__ = [
    "BEST_CHECKPOINT",
    "BF16_REL_ERROR",
    "CACHE_DTYPES",
    "CAST_TYPES",
    "COMPILE_MODES",
    "LAST_CHECKPOINT",
    "METRICS_FILE",
    "PRECISIONS",
    "CompressResult",
    "DistInfo",
    "Evaluation",
    "FitResult",
    "MetricsLogger",
    "NonFiniteLossError",
    "OptimizerFactory",
    "Phase",
    "RankSlice",
    "SchedulerFactory",
    "TeacherCache",
    "TrainConfig",
    "TrainStep",
    "TrainingSetup",
    "all_reduce_sum",
    "autocast",
    "barrier",
    "build_optimizer",
    "build_phases",
    "build_scheduler",
    "check_pair",
    "check_run_dir",
    "compile_options",
    "compile_teacher",
    "compiled",
    "compress",
    "deterministic_mode",
    "dist_info",
    "evaluate",
    "fit",
    "freeze_for_phase",
    "inference_copy",
    "inference_teacher",
    "init_distributed",
    "make_phase_step",
    "make_train_step",
    "mark_step_begin",
    "plan_for",
    "prepare_fit_dir",
    "read_metrics",
    "resolve_device",
    "resolve_path",
    "run_dir_path",
    "seed_everything",
    "setup_training",
    "shutdown_distributed",
    "to_device",
]
