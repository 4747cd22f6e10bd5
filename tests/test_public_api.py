"""The public surface: every name in every ``__all__`` exists, and lit_core's top level keeps its API.

lit-core is grouped into subpackages (method, training, models, io, app, cli, data, studies, gan);
a downstream project imports from ``lit_core`` or from a subpackage, and each module's ``__all__``
must name only what it really defines or re-exports.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

# lit_core.__all__ as it stood before the layout change (issue 19): it may grow, never shrink
LIT_CORE_API_BEFORE_LAYOUT = {
    "METHODS", "DistInfo", "Evaluation", "FitResult", "IRLoss", "IRPlan", "KDLoss", "LITLoss",
    "LossParts", "MethodConfig", "MetricsLogger", "NonFiniteLossError", "RankSlice",
    "StagedModel", "StudentForward", "TrainConfig", "TrainStep", "__version__", "build_model",
    "check_alignment", "copy_stem_and_head", "deterministic_mode", "dist_info", "evaluate", "fit",
    "get_method", "init_distributed", "lit_step", "load_checkpoint", "load_model_weights",
    "load_state_into", "make_plan", "make_train_step", "read_metrics", "require_staged",
    "resolve_device", "save_atomic", "seed_everything", "student_architecture", "teacher_forward",
}
SKIP = {"lit_core.__main__", "lit_core.gan.__main__", "lit_bench.__main__"}


def _modules(root: str) -> list[str]:
    package = importlib.import_module(root)
    names = [root]
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{root}."):
        if info.name not in SKIP:
            names.append(info.name)
    return names


ALL_MODULES = [m for root in ("lit_core", "lit_models", "lit_bench") for m in _modules(root)]


@pytest.mark.parametrize("module_name", ALL_MODULES)
def test_every_name_in_all_exists(module_name):
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        private = any(part.startswith("_") for part in module_name.split("."))
        assert private, f"{module_name} is public but has no __all__"
        return
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{module_name}.__all__ names what it does not define: {missing}"
    assert len(set(exported)) == len(exported), f"{module_name}.__all__ repeats a name"


def test_lit_core_top_level_api_is_unchanged_or_grows():
    import lit_core

    assert set(lit_core.__all__) >= LIT_CORE_API_BEFORE_LAYOUT, (
        sorted(LIT_CORE_API_BEFORE_LAYOUT - set(lit_core.__all__))
    )


@pytest.mark.parametrize("subpackage", ["method", "training", "models", "io", "app", "cli"])
def test_subpackage_reexports_come_from_its_own_modules(subpackage):
    """A subpackage's ``__init__`` re-exports names defined inside it (one home per name)."""
    package = importlib.import_module(f"lit_core.{subpackage}")
    for name in package.__all__:
        obj = getattr(package, name)
        home = getattr(obj, "__module__", None)
        if home is not None and isinstance(obj, type | type(len) | type(_modules)):
            assert home.startswith(f"lit_core.{subpackage}"), f"lit_core.{subpackage}.{name} lives in {home}"
