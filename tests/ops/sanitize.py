"""Run lit::fused_basic_block's CUDA kernels under compute-sanitizer (needs a GPU; not a pytest file).

    python tests/ops/sanitize.py --all        # memcheck, racecheck, initcheck, synccheck in turn
    python tests/ops/sanitize.py --all --tools memcheck,racecheck    # some of them
    python tests/ops/sanitize.py              # just the workload (what each sanitizer runs)
    python tests/ops/sanitize.py --device cpu # the workload on the CPU kernel (CI runs this)

The workload covers both kernels (MMA for bf16/fp16, CUDA cores for fp32 and odd channels), both
tile sizes (batch 1 → tile 4, batch 64 → tile 8), all shortcuts and both strides, and checks each
result against the fp64 reference (computed on the CPU, so the sanitizers watch only the op's
kernels). The caching allocator is disabled so memcheck sees real
allocation bounds. Exit status is non-zero if any tool reports an error or a result is wrong.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

TOOLS = ("memcheck", "racecheck", "initcheck", "synccheck")
SHAPES = [
    (16, 16, 1, 0, 32),
    (16, 32, 2, 1, 32),
    (32, 64, 2, 2, 16),
    (64, 64, 1, 0, 8),
    (12, 24, 2, 1, 9),
]


def workload(device: str = "cuda") -> int:
    """Each shape x dtype x batch {1, 64} on ``device``; returns the number of wrong results."""
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from _fused_cases import TOLERANCE, make_case, oracle, rel_error

    from lit_bench import ops

    assert ops.is_available(), "native op did not build"
    gen, bad = torch.Generator().manual_seed(0), 0
    for cin, cout, stride, shortcut, size in SHAPES:
        for dtype in (torch.float32, torch.bfloat16, torch.float16):
            for batch in (1, 64) if device == "cuda" else (1, 2):  # CPU: CI-sized
                case = make_case(
                    gen, cin, cout, stride, shortcut, batch, size, dtype, device=device
                )
                out = torch.ops.lit.fused_basic_block(*case.args())
                if device == "cuda":
                    torch.cuda.synchronize()
                assert out.device.type == device
                err = rel_error(out, oracle(case, device="cpu"))
                ok = err <= TOLERANCE[dtype]
                bad += not ok
                print(
                    f"{cin}->{cout} s{stride} sc{shortcut} {size}px b{batch} {dtype}: {err:.2e} {'ok' if ok else 'FAIL'}"
                )
    return bad


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="run the workload under each sanitizer")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated sanitizer tools")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if not args.all:
        return 1 if workload(args.device) else 0
    tools = [t for t in args.tools.split(",") if t]
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown:
        print(f"lit: error: unknown sanitizer tool(s) {', '.join(unknown)}; valid: {', '.join(TOOLS)}")
        return 2
    sanitizer = shutil.which("compute-sanitizer") or "/usr/local/cuda/bin/compute-sanitizer"
    env = {**os.environ, "PYTORCH_NO_CUDA_MEMORY_CACHING": "1"}
    failed = []
    for tool in tools:
        cmd = [sanitizer, "--tool", tool, "--error-exitcode", "3", sys.executable, __file__]
        print("$", " ".join(cmd), flush=True)
        if subprocess.run(cmd, env=env).returncode != 0:
            failed.append(tool)
    print("sanitizers failed:" if failed else "all sanitizers clean", *failed)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
