"""The application around the trainer: from a configuration to finished, reported runs.

``presets`` and ``runconfig`` (where settings come from, resolved and validated once),
``session`` (data, device and run directory shared by one command's jobs), ``specs`` (which
models a job builds), ``jobs`` (what ``lit run / compare / compress / evaluate`` do),
``parallel`` (students as concurrent processes) and ``report`` (summary tables and plots).
The command line that drives it is ``lit_core.cli``.
"""

from .jobs import (
    RESULT_FILE,
    TEACHER_RECORD,
    compare,
    evaluate_checkpoint,
    load_teacher,
    open_with_teacher,
    preflight,
    train_one,
    train_student_alone,
)
from .parallel import compare_parallel, visible_gpus
from .presets import DEFAULT_PRESET, apply_override, list_presets, load_preset, load_toml, merge
from .report import SUMMARY_FILES, SummaryRow, format_table, write_report
from .runconfig import (
    DEFAULT_METHODS,
    DataSettings,
    ModelSettings,
    RunConfig,
    build_run_config,
    config_diff,
    merged_config,
    resolve_run_config,
)
from .session import (
    CONFIG_FILE,
    SMALL_PER_RANK_BATCH,
    Session,
    load_run_data,
    loaders,
    open_session,
    read_stored_config,
)
from .specs import (
    ModelSpec,
    load_weights,
    model_kwargs,
    model_spec,
    recorded_spec,
    student_spec,
    teacher_spec,
)

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_METHODS",
    "DEFAULT_PRESET",
    "RESULT_FILE",
    "SMALL_PER_RANK_BATCH",
    "SUMMARY_FILES",
    "TEACHER_RECORD",
    "DataSettings",
    "ModelSettings",
    "ModelSpec",
    "RunConfig",
    "Session",
    "SummaryRow",
    "apply_override",
    "build_run_config",
    "compare",
    "compare_parallel",
    "config_diff",
    "evaluate_checkpoint",
    "format_table",
    "list_presets",
    "load_preset",
    "load_run_data",
    "load_teacher",
    "load_toml",
    "load_weights",
    "loaders",
    "merge",
    "merged_config",
    "model_kwargs",
    "model_spec",
    "open_session",
    "open_with_teacher",
    "preflight",
    "read_stored_config",
    "recorded_spec",
    "resolve_run_config",
    "student_spec",
    "teacher_spec",
    "train_one",
    "train_student_alone",
    "visible_gpus",
    "write_report",
]
