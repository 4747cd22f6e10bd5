"""Build and load the native ``lit`` ops library (C++ CPU kernels, plus CUDA where usable).

The one op-loading path: :func:`load_library` compiles the sources shipped in ``lit_bench/csrc``
with ``torch.utils.cpp_extension.load`` (ninja) on first call, caches the build, and loads it with
``torch.ops.load_library`` so the kernels register under ``torch.ops.lit``. Nothing happens at
import. A failed build warns once, with the compiler's output saved to a log file, and returns
False so callers run the PyTorch reference.

Environment:
  LIT_DISABLE_EXT=1   never build or load; the reference runs.
  LIT_EXT_DIR         build/cache directory (default: torch's extension cache dir).
  LIT_EXT_SRC_DIR     source directory (default: the ``csrc`` shipped in this package).
  LIT_EXT_CUDA=0      build the CPU-only library even where CUDA is usable.
"""

from __future__ import annotations

import functools
import os
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BuildConfig",
    "build",
    "build_config",
    "compile_cuda_objects",
    "find_nvcc",
    "load_library",
]

_PKG_CSRC = Path(__file__).resolve().parent / "csrc"


@dataclass(frozen=True)
class BuildConfig:
    """What to compile and where: sources, build directory, library name, CUDA or not."""

    src_dir: Path
    build_dir: Path
    with_cuda: bool

    @property
    def name(self) -> str:
        return "lit_ops_cuda" if self.with_cuda else "lit_ops_cpu"

    @property
    def sources(self) -> list[str]:
        files = [*sorted(self.src_dir.glob("*.cpp")), *sorted((self.src_dir / "cpu").glob("*.cpp"))]
        if self.with_cuda:
            files += sorted((self.src_dir / "cuda").glob("*.cu"))
        return [str(f) for f in files]

    @property
    def log_path(self) -> Path:
        return self.build_dir / f"{self.name}-build.log"


def _cuda_usable() -> bool:
    """True when a CUDA device is present and nvcc can be found (CUDA_HOME or the default)."""
    if os.environ.get("LIT_EXT_CUDA", "1") == "0":
        return False
    import torch
    from torch.utils.cpp_extension import CUDA_HOME

    return torch.version.cuda is not None and CUDA_HOME is not None and torch.cuda.is_available()


def build_config(with_cuda: bool | None = None) -> BuildConfig:
    """The build the current environment asks for (env vars above; CUDA if usable)."""
    from torch.utils.cpp_extension import _get_build_directory

    src_dir = Path(os.environ.get("LIT_EXT_SRC_DIR") or _PKG_CSRC)
    cuda = _cuda_usable() if with_cuda is None else with_cuda
    name = "lit_ops_cuda" if cuda else "lit_ops_cpu"
    root = os.environ.get("LIT_EXT_DIR")
    build_dir = Path(root) / name if root else Path(_get_build_directory(name, verbose=False))
    return BuildConfig(src_dir=src_dir, build_dir=build_dir, with_cuda=cuda)


def build(config: BuildConfig, verbose: bool = False) -> None:
    """Compile (or reuse the cached build of) ``config`` and load it into ``torch.ops.lit``."""
    from torch.utils.cpp_extension import load

    config.build_dir.mkdir(parents=True, exist_ok=True)
    load(
        name=config.name,
        sources=config.sources,
        extra_include_paths=[str(config.src_dir)],
        extra_cflags=["-O3"],
        extra_cuda_cflags=["-O3", "--expt-relaxed-constexpr"],
        build_directory=str(config.build_dir),
        is_python_module=False,
        with_cuda=config.with_cuda,
        verbose=verbose,
    )


def find_nvcc() -> Path | None:
    """nvcc from $CUDA_HOME, else /usr/local/cuda; None when neither has one."""
    for root in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if root and (Path(root) / "bin" / "nvcc").is_file():
            return Path(root) / "bin" / "nvcc"
    return None


def compile_cuda_objects(
    out_dir: Path,
    archs: tuple[str, ...] = ("90",),
    src_dir: Path | None = None,
    ptxas_verbose: bool = False,
) -> list[Path]:
    """Compile every ``csrc/cuda/*.cu`` to an object file with nvcc (no GPU needed).

    Uses torch's include paths and nvcc flags, so it checks what the JIT build would compile.
    With ``ptxas_verbose``, ptxas's per-kernel resource report (``-Xptxas -v``: registers, spills,
    shared memory) is saved next to each object as ``<name>.ptxas.txt`` (see lit_bench.gpu_static).
    Raises ``RuntimeError`` carrying nvcc's output when a file fails.
    """
    import subprocess

    import torch
    from torch.utils.cpp_extension import COMMON_NVCC_FLAGS, include_paths

    nvcc = find_nvcc()
    if nvcc is None:
        raise FileNotFoundError("nvcc not found: set CUDA_HOME to a CUDA toolkit")
    src_dir = Path(src_dir or os.environ.get("LIT_EXT_SRC_DIR") or _PKG_CSRC)
    out_dir.mkdir(parents=True, exist_ok=True)
    abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
    flags = [
        *COMMON_NVCC_FLAGS,
        "-O3",
        "-std=c++20",
        "--expt-relaxed-constexpr",
        "-Xcompiler",
        "-fPIC",
    ]
    flags += [f"-D_GLIBCXX_USE_CXX11_ABI={abi}", f"-I{src_dir}"]
    flags += [f"-I{p}" for p in include_paths(device_type="cuda")]
    flags += [f"-gencode=arch=compute_{a},code=sm_{a}" for a in archs]
    if ptxas_verbose:
        flags += ["-Xptxas", "-v"]
    objects = []
    for cu in sorted((src_dir / "cuda").glob("*.cu")):
        obj = out_dir / (cu.stem + ".o")
        proc = subprocess.run(
            [str(nvcc), *flags, "-c", str(cu), "-o", str(obj)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"nvcc failed on {cu}:\n{proc.stdout}\n{proc.stderr}")
        if ptxas_verbose:
            (out_dir / (cu.stem + ".ptxas.txt")).write_text(proc.stdout + proc.stderr)
        objects.append(obj)
    return objects


@functools.cache
def load_library() -> bool:
    """Build on first call (cached on disk) and load the native ops; False → use the reference."""
    if os.environ.get("LIT_DISABLE_EXT", "0") == "1":
        return False
    config = build_config()
    try:
        build(config)
    except Exception:  # compiler errors, missing toolchain, load errors: all fall back
        config.build_dir.mkdir(parents=True, exist_ok=True)
        config.log_path.write_text(traceback.format_exc())
        warnings.warn(
            f"lit: building the native fused_basic_block op ({config.name}) failed, so the "
            f"PyTorch reference runs instead (correct, slower). Compiler output: {config.log_path}. "
            "Install a C++20 compiler and ninja (and nvcc with CUDA_HOME set for the GPU kernel), "
            "or set LIT_DISABLE_EXT=1 to skip the build and this warning.",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


def main() -> int:
    """Build ahead of time: the library for this machine, then an sm_80/sm_90 nvcc compile check."""
    import tempfile
    import time

    config = build_config()
    start = time.perf_counter()
    build(config, verbose=True)
    print(f"built {config.name} in {time.perf_counter() - start:.0f} s -> {config.build_dir}")
    if find_nvcc() is None:
        print("nvcc not found (set CUDA_HOME): CUDA compile check skipped")
        return 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        objects = compile_cuda_objects(Path(tmp), archs=("80", "90"))
    print(
        f"compiled {len(objects)} CUDA source(s) for sm_80, sm_90 in {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
