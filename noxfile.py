"""Sessions for `lit`: tests, lint (default); train (the main job), bench, ext, gpu-report,
step-bench, reproduce, install (on request).

Torch is a ~6 GB install, so virtualenvs are reused between runs (``nox.options.reuse_venv``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
import zipfile
from pathlib import Path

import nox

nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint", "docs"]

PACKAGES = ("packages/lit-models", "packages/lit-core", "packages/lit-bench")
# the tests cover the optional parts too: the studies (Optuna, SciPy), digits (scikit-learn), the
# GAN metrics (torchmetrics) and ONNX Runtime (CPU)
TEST_PACKAGES = ("packages/lit-models", "packages/lit-core[studies,sklearn,gan,export]", "packages/lit-bench[ort]")
TEST_DEPS = ("pytest>=8", "pytest-benchmark>=4")


def _install_workspace(session: nox.Session, *packages: str) -> None:
    """Install the given workspace packages (non-editable, as a user would get them)."""
    session.install(*packages)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the CPU test suite (posargs go to pytest, e.g. ``nox -s tests -- -k losses``)."""
    _install_workspace(session, *TEST_PACKAGES)
    session.install(*TEST_DEPS)
    env = {"CUDA_HOME": os.environ.get("CUDA_HOME", "/usr/local/cuda")}
    session.run("pytest", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint with ruff and check the import contracts with import-linter (both configured in the
    root pyproject.toml: lit-core's layers, lit-core/lit-models independence, lit-bench through
    public names). import-linter reads the sources, so torch is not installed here."""
    session.install("ruff>=0.5", "import-linter>=2.1")
    session.run("ruff", "check", ".", *session.posargs)
    src = os.pathsep.join(str(Path(p, "src").resolve()) for p in PACKAGES)
    session.run("lint-imports", env={"PYTHONPATH": src})


@nox.session
def docs(session: nox.Session) -> None:
    """Build the API reference (mkdocs-material + mkdocstrings) with ``--strict``: a warning fails.

    mkdocstrings reads the sources statically (griffe), so the packages are not installed here."""
    session.install("mkdocs-material>=9.5", "mkdocstrings[python]>=0.25")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(Path(session.create_tmp(), "site")))


@nox.session(default=False)
def ext(session: nox.Session) -> None:
    """Build the native lit op ahead of time (CPU; CUDA where a GPU is visible) and nvcc-check the CUDA sources for sm_80/sm_90."""
    _install_workspace(session, *PACKAGES)
    env = {"CUDA_HOME": os.environ.get("CUDA_HOME", "/usr/local/cuda")}
    code = "from lit_bench._extension import main; raise SystemExit(main())"
    session.run("python", "-c", code, env=env)


@nox.session(name="gpu-report", default=False)
def gpu_report(session: nox.Session) -> None:
    """Static report of the fused op's CUDA kernels (nvcc for sm_80/sm_90, ptxas -v, SASS; no GPU)
    into results/fused-op/gpu_static.{json,md}; ``-- --check results/fused-op/gpu_static.json``
    compares with the committed baseline instead (the tests run the same guard)."""
    _install_workspace(session, *PACKAGES)
    env = {"CUDA_HOME": os.environ.get("CUDA_HOME", "/usr/local/cuda")}
    args = list(session.posargs) or ["--out", "results/fused-op"]
    session.run("python", "-m", "lit_bench.gpu_static", *args, env=env)


@nox.session
def train(session: nox.Session) -> None:
    """The main job: teacher, LIT, KD and scratch students on the best data found, summary in
    results/<run>/ (posargs go to ``lit run``, e.g. ``nox -s train -- --preset paper``; a first
    posarg naming another subcommand runs that instead, e.g. ``nox -s train -- compare ...``)."""
    # [sklearn]: the cpu preset falls back to digits without Fashion-MNIST; [gan]: --preset gan-cpu
    session.install("packages/lit-models", "packages/lit-core[studies,sklearn,gan]")
    commands = ("run", "train-teacher", "compress", "compare", "evaluate", "sweep", "search", "prune")
    args = list(session.posargs)
    if not args or args[0] not in commands:
        args = ["run", *args]
    session.run("lit", *args)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Latency and throughput of LIT students vs teachers and pruned baselines (posargs go to
    ``python -m lit_bench``, e.g. ``nox -s bench -- --models resnet20,resnet110``, or ``-- --run
    results/<run>`` for one lit run's models with their accuracies and pruned baselines; ``-- --dry-run
    --device cuda`` checks a GPU run's plan in seconds). With a GPU it runs every GPU backend,
    with ONNX Runtime from ``lit-bench[gpu]`` (onnxruntime-gpu); without one the CPU backends on
    small settings, with ``lit-bench[ort]``. Reusing the venv is safe: ``lit_bench.ort_install``
    leaves exactly one ONNX Runtime installed, whole. Report in results/."""
    extra, ort = ("gpu", "onnxruntime-gpu") if shutil.which("nvidia-smi") else ("ort", "onnxruntime")
    session.install("packages/lit-models", "packages/lit-core[sklearn]", f"packages/lit-bench[models,core,{extra}]")
    session.run("python", "-m", "lit_bench.ort_install", "--want", ort)
    session.run("python", "-m", "lit_bench", *session.posargs)


@nox.session(name="step-bench", default=False)
def step_bench(session: nox.Session) -> None:
    """One training step resnet110 → resnet20, batch 128: LIT vs KD vs scratch (pytest-benchmark;
    posargs go to pytest, e.g. ``-- --benchmark-json=results/step_benchmark/cpu.json``)."""
    _install_workspace(session, "packages/lit-models", "packages/lit-core")
    session.install(*TEST_DEPS)
    session.run("pytest", "tests/benchmarks", "--benchmark-enable", *session.posargs)


@nox.session(default=False)
def reproduce(session: nox.Session) -> None:
    """Stale-result check: rerun the short reference run (digits, ~1 min on one CPU thread) and
    compare with ``results/reference/reference.json``; fails naming every number that moved
    (``nox -s reproduce -- --update`` stores new numbers, in the commit that changed them)."""
    session.install("packages/lit-models", "packages/lit-core[sklearn]")  # the reference run is on digits
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    session.run("python", "-m", "lit_core.cli.reproduce", *session.posargs, env=env)


def _readme_install_commands(readme: Path) -> list[str]:
    """The ``pip install ...`` lines of the README's "Installing" section, comments stripped."""
    text = readme.read_text(encoding="utf-8")
    section = re.search(r"^## Installing.*?(?=^## )", text, flags=re.S | re.M)
    if section is None:
        raise ValueError(f"{readme} has no '## Installing' section")
    lines = [line.split("  #")[0].strip() for line in section.group(0).splitlines()]
    return [line for line in lines if line.startswith("pip install ")]


@nox.session(default=False)
def install(session: nox.Session) -> None:
    """Build the three wheels (LICENSE, py.typed and one version in each) and install them into a
    clean venv, then run every ``pip install`` command of README's "Installing" section in its own
    fresh venv and import what it installed (``lit --version`` where lit-core is in). Posargs pick commands by substring
    (``nox -s install -- lit-bench``). About 2-3 min per command with pip's local cache (torch)."""
    session.install("pip>=23")
    work = Path(tempfile.mkdtemp(prefix="lit-install-"))
    wheels = work / "wheels"
    for package in PACKAGES:
        session.run("python", "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), package)
    for wheel in sorted(wheels.glob("*.whl")):
        module = wheel.name.split("-")[0]
        with zipfile.ZipFile(wheel) as z:
            names = set(z.namelist())
        missing = [n for n in (f"{module}/py.typed",) if n not in names]
        if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
            missing.append("LICENSE")
        if missing:
            session.error(f"{wheel.name} lacks {missing}")
        session.log(f"{wheel.name}: LICENSE and py.typed inside")
    # the built wheels themselves, as an index would serve them, into one clean venv
    venv = work / "venv-wheels"
    session.run("python", "-m", "venv", str(venv))
    py = str(venv / "bin" / "python")
    session.run(py, "-m", "pip", "install", "-q", *map(str, sorted(wheels.glob("*.whl"))), external=True)
    session.run(py, "-c", "import lit_models, lit_core, lit_bench; print('wheels:', lit_core.__version__)",
                external=True)
    session.run(str(venv / "bin" / "lit"), "--version", external=True)
    session.run(str(venv / "bin" / "lit-bench"), "--help", external=True, silent=True)
    shutil.rmtree(venv)
    commands = _readme_install_commands(Path("README.md"))
    commands = [c for c in commands if not session.posargs or any(a in c for a in session.posargs)]
    for i, command in enumerate(commands):
        venv = work / f"venv{i}"
        session.log(f"fresh venv: {command}")
        session.run("python", "-m", "venv", str(venv))
        py = str(venv / "bin" / "python")
        session.run(py, "-m", "pip", "install", "-q", *shlex.split(command)[2:], external=True)
        modules = [m for d, m in (("lit-models", "lit_models"), ("lit-core", "lit_core"),
                                  ("lit-bench", "lit_bench")) if f"packages/{d}" in command]
        code = "; ".join(f"import {m}; print({m}.__name__, {m}.__version__)" for m in modules)
        session.run(py, "-c", code, external=True)
        if "lit_core" in modules:
            session.run(str(venv / "bin" / "lit"), "--version", external=True)
        shutil.rmtree(venv)
    shutil.rmtree(work)
