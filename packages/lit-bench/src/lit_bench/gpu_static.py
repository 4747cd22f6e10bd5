"""Static GPU report of the fused op's CUDA kernels, and the regression guard built on it.

No GPU needed: nvcc compiles ``csrc/cuda`` for sm_80 and sm_90 with ``-Xptxas -v`` (registers,
spills per kernel), ``cuobjdump -sass`` (CUDA's, or the copy Triton ships) disassembles the
objects, and this module reads both: per kernel and architecture, registers, spill bytes, shared
memory per CTA for the ResNet block shapes, occupancy on A100/H100 (from the datasheet limits
below), and the instruction mix of the hot loop (the innermost loop with the most HMMA, or FFMA
for the CUDA-core kernel): global loads, shared loads, HMMA, and global loads per HMMA.

    python -m lit_bench.gpu_static --out results/fused-op           # write gpu_static.{json,md}
    python -m lit_bench.gpu_static --check results/fused-op/gpu_static.json   # CI guard

The guard fails on any spill, and on registers or hot-loop global-loads-per-HMMA above the
committed baseline. Static counts are not speed: see results/fused-op/FLOORS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from ._extension import compile_cuda_objects, find_nvcc

__all__ = [
    "build_report",
    "compile_and_read",
    "find_cuobjdump",
    "hot_loop",
    "main",
    "occupancy",
    "parse_ptxas",
    "parse_sass",
    "regressions",
    "to_markdown",
]

ARCHS = ("80", "90")
# Per-SM limits (NVIDIA CUDA C Programming Guide, compute capability table).
GPUS = {
    "A100": {"arch": "80", "regs": 65536, "smem_sm": 164 * 1024, "smem_cta": 163 * 1024,
             "ctas": 32, "warps": 64},
    "H100": {"arch": "90", "regs": 65536, "smem_sm": 228 * 1024, "smem_cta": 227 * 1024,
             "ctas": 32, "warps": 64},
}
RESERVED_SMEM = 1024  # per CTA, taken by the system on sm_80+
THREADS = {"block_mma": 128, "block_simt": 256}
# (Cin, Cout, stride) of resnet20's blocks; the MMA kernel with NF=2 only runs Cout % 32 != 0.
BLOCKS = [(16, 16, 1), (16, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1)]
TILE = 8  # the large-batch tile


def find_cuobjdump() -> Path | None:
    """cuobjdump from $CUDA_HOME, /usr/local/cuda or the Triton wheel's bundled copy."""
    roots = [os.environ.get("CUDA_HOME"), "/usr/local/cuda"]
    for root in filter(None, roots):
        if (Path(root) / "bin" / "cuobjdump").is_file():
            return Path(root) / "bin" / "cuobjdump"
    try:
        import triton
    except ImportError:
        return None
    tool = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"
    return tool if tool.is_file() else None


def _short(mangled: str) -> str:
    """``_ZN3lit12fused_detail9block_mmaIN3c108BFloat16ELi4EEEvNS0_6ParamsE`` → ``block_mma<bf16,4>``."""
    base = "block_mma" if "block_mma" in mangled else "block_simt" if "block_simt" in mangled else mangled
    dtype = "bf16" if "BFloat16" in mangled else "fp16" if "Half" in mangled else "fp32"
    nf = re.search(r"ELi(\d+)E", mangled)
    return f"{base}<{dtype}{',' + nf.group(1) if nf else ''}>"


def parse_ptxas(text: str) -> dict[tuple[str, str], dict]:
    """``-Xptxas -v`` output → {(kernel, arch): registers, spill bytes, stack bytes}."""
    out: dict[tuple[str, str], dict] = {}
    key = None
    for line in text.splitlines():
        m = re.search(r"Compiling entry function '(\S+)' for 'sm_(\d+)'", line)
        if m:
            key = (_short(m.group(1)), m.group(2))
            out[key] = {}
            continue
        if key is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            out[key].update(stack=int(m.group(1)), spill_stores=int(m.group(2)), spill_loads=int(m.group(3)))
        m = re.search(r"Used (\d+) registers", line)
        if m:
            out[key]["registers"] = int(m.group(1))
    return out


_INSTR = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)\s*([^;]*);")


def parse_sass(text: str) -> dict[tuple[str, str], list[tuple[int, str, str]]]:
    """``cuobjdump -sass`` output → {(kernel, arch): [(address, opcode, operands)]}."""
    out: dict[tuple[str, str], list] = {}
    arch, key = None, None
    for line in text.splitlines():
        m = re.match(r"\s*arch = sm_(\d+)", line)
        if m:
            arch = m.group(1)
            continue
        m = re.search(r"Function : (\S+)", line)
        if m and arch:
            key = (_short(m.group(1)), arch)
            out[key] = []
            continue
        m = _INSTR.search(line)
        if m and key:
            out[key].append((int(m.group(1), 16), m.group(3), m.group(4)))
    return out


def _classify(op: str) -> str | None:
    head = op.split(".")[0]
    return {"LDG": "global_loads", "LDS": "shared_loads", "LDSM": "shared_loads", "HMMA": "hmma",
            "STG": "global_stores", "STS": "shared_stores", "FFMA": "ffma", "LDL": "local_loads",
            "STL": "local_stores", "LDGSTS": "async_copies", "BAR": "barriers"}.get(head)


def _mix(instrs: list[tuple[int, str, str]]) -> dict[str, int]:
    counts = Counter(c for _, op, _ in instrs if (c := _classify(op)))
    keys = ("hmma", "global_loads", "shared_loads", "ffma", "global_stores", "shared_stores",
            "local_loads", "local_stores")
    return {k: counts.get(k, 0) for k in keys} | {"instructions": len(instrs)}


def hot_loop(instrs: list[tuple[int, str, str]]) -> dict:
    """The innermost loop (a backward branch with no loop inside it) with the most HMMA/FFMA."""
    loops = []
    for addr, op, args in instrs:
        m = re.match(r"(0x[0-9a-f]+)", args.strip())
        if op.startswith("BRA") and m and int(m.group(1), 16) < addr:
            loops.append((int(m.group(1), 16), addr))
    inner = [(a, b) for a, b in loops if not any(a <= c and d <= b and (c, d) != (a, b) for c, d in loops)]
    best, best_key = None, (-1, -1)
    for a, b in inner:
        body = [i for i in instrs if a <= i[0] <= b]
        mix = _mix(body)
        key = (mix["hmma"], mix["ffma"])
        if key > best_key:
            best, best_key = {"start": hex(a), "end": hex(b), **mix}, key
    if best is None:
        return {}
    best["global_loads_per_hmma"] = round(best["global_loads"] / best["hmma"], 3) if best["hmma"] else None
    return best


def smem_bytes(kernel: str, elem: int, cin: int, cout: int, tile: int, stride: int) -> int:
    """Dynamic shared memory per CTA (mirror of ``smem_bytes`` in fused_basic_block_kernels.cuh)."""
    mid = tile + 2
    inp = (mid - 1) * stride + 3
    if kernel.startswith("block_mma"):
        return (inp * inp * (cin + 8) + mid * mid * (cout + 8)) * elem
    return (inp * inp * cin + mid * mid * cout) * 4


def occupancy(registers: int, smem: int, threads: int, gpu: dict) -> dict:
    """CTAs per SM and what limits them (register allocation: 256 per warp unit, warps in 4s)."""
    warps = threads // 32
    regs_per_warp = math.ceil(registers * 32 / 256) * 256
    by_regs = (gpu["regs"] // regs_per_warp) // 4 * 4 // warps if registers else gpu["ctas"]
    by_smem = gpu["smem_sm"] // (smem + RESERVED_SMEM) if smem <= gpu["smem_cta"] else 0
    limits = {"registers": by_regs, "shared memory": by_smem, "warps": gpu["warps"] // warps,
              "CTA slots": gpu["ctas"]}
    ctas = min(limits.values())
    return {"ctas_per_sm": ctas, "warps_per_sm": ctas * warps, "occupancy": round(ctas * warps / gpu["warps"], 3),
            "limited_by": min(limits, key=limits.get)}


def _shapes(kernel: str) -> list[tuple[int, int, int]]:
    if kernel.endswith(",2>"):
        return [b for b in BLOCKS if b[1] % 32 != 0]
    if kernel.endswith(",4>"):
        return [b for b in BLOCKS if b[1] % 32 == 0]
    return BLOCKS


def build_report(ptxas_text: str, sass_text: str | None) -> dict:
    """Everything per (kernel, arch), keyed ``"<kernel> sm_<arch>"``."""
    resources = parse_ptxas(ptxas_text)
    sass = parse_sass(sass_text) if sass_text else {}
    kernels = {}
    for (kernel, arch), res in sorted(resources.items()):
        base = kernel.split("<")[0]
        elem = 4 if "fp32" in kernel else 2
        gpu_name, gpu = next((n, g) for n, g in GPUS.items() if g["arch"] == arch)
        shapes = []
        for cin, cout, stride in _shapes(kernel):
            smem = smem_bytes(kernel, elem, cin, cout, TILE, stride)
            occ = occupancy(res.get("registers", 0), smem, THREADS[base], gpu)
            shapes.append({"block": f"{cin}->{cout} s{stride}", "smem_bytes": smem, **occ})
        entry = {"kernel": kernel, "arch": f"sm_{arch}", "gpu": gpu_name, "threads": THREADS[base],
                 **res, "tile": TILE, "shapes": shapes}
        if (kernel, arch) in sass:
            entry["whole_kernel"] = _mix(sass[(kernel, arch)])
            entry["hot_loop"] = hot_loop(sass[(kernel, arch)])
        kernels[f"{kernel} sm_{arch}"] = entry
    return {"kernels": kernels, "sass": bool(sass)}


def regressions(report: dict, baseline: dict) -> list[str]:
    """Why ``report`` is worse than ``baseline`` (empty: no regression). Any spill is one."""
    problems = []
    for name, k in report["kernels"].items():
        if k.get("spill_stores", 0) or k.get("spill_loads", 0):
            problems.append(f"{name}: spills {k['spill_stores']} B stores / {k['spill_loads']} B loads")
        old = baseline["kernels"].get(name)
        if old is None:
            continue
        if k.get("registers", 0) > old.get("registers", 0):
            problems.append(f"{name}: {k['registers']} registers, baseline {old['registers']}")
        new_r = (k.get("hot_loop") or {}).get("global_loads_per_hmma")
        old_r = (old.get("hot_loop") or {}).get("global_loads_per_hmma")
        if report["sass"] and new_r is not None and old_r is not None and new_r > old_r:
            problems.append(f"{name}: hot loop {new_r} global loads per HMMA, baseline {old_r}")
    missing = sorted(set(baseline["kernels"]) - set(report["kernels"]))
    problems += [f"{name}: in the baseline but not compiled any more" for name in missing]
    return problems


def compile_and_read(build_dir: Path) -> tuple[str, str | None]:
    """Compile for ``ARCHS`` into ``build_dir`` (reusing objects there) → (ptxas text, SASS text)."""
    logs = sorted(build_dir.glob("*.ptxas.txt"))
    if not logs:
        compile_cuda_objects(build_dir, archs=ARCHS, ptxas_verbose=True)
        logs = sorted(build_dir.glob("*.ptxas.txt"))
    ptxas = "\n".join(p.read_text() for p in logs)
    tool = find_cuobjdump()
    if tool is None:
        return ptxas, None
    sass = []
    for obj in sorted(build_dir.glob("*.o")):
        proc = subprocess.run([str(tool), "-sass", str(obj)], capture_output=True, text=True, check=True)
        sass.append(proc.stdout)
    return ptxas, "\n".join(sass)


def to_markdown(report: dict, meta: dict) -> str:
    """The report as a table (one row per kernel and architecture)."""
    lines = [
        "# Static report of the fused op's CUDA kernels (compiler output, not measurement)",
        "",
        f"Command: `{meta['command']}`  ",
        f"nvcc: {meta['nvcc']}; cuobjdump: {meta['cuobjdump']}; date: {meta['date']}; "
        f"git commit: {meta['git']}",
        "",
        f"Shared memory and occupancy at tile {TILE} (large batch) for resnet20's block shapes; "
        "occupancy from the per-SM limits of the A100 (sm_80) and H100 (sm_90). Hot loop: the "
        "innermost loop with the most HMMA (FFMA for the CUDA-core kernel).",
        "",
        "| kernel | arch | regs | spills (st/ld B) | smem/CTA (B) | CTAs/SM | limited by | "
        "hot loop HMMA | FFMA | LDG | LDS | LDG/HMMA | kernel HMMA | kernel LDG |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k in report["kernels"].values():
        big = max(k["shapes"], key=lambda s: s["smem_bytes"])
        small = min(k["shapes"], key=lambda s: s["smem_bytes"])
        smem = f"{small['smem_bytes']}–{big['smem_bytes']}"
        ctas = f"{big['ctas_per_sm']}–{small['ctas_per_sm']}"
        hl, whole = k.get("hot_loop") or {}, k.get("whole_kernel") or {}
        lines.append(
            f"| {k['kernel']} | {k['arch']} | {k.get('registers')} | {k.get('spill_stores')}/"
            f"{k.get('spill_loads')} | {smem} | {ctas} | {big['limited_by']} | {hl.get('hmma', '–')} | "
            f"{hl.get('ffma', '–')} | {hl.get('global_loads', '–')} | {hl.get('shared_loads', '–')} | "
            f"{hl.get('global_loads_per_hmma') or '–'} | {whole.get('hmma', '–')} | "
            f"{whole.get('global_loads', '–')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the report (``--out``) and/or compare it with a baseline (``--check``)."""
    import datetime as dt

    p = argparse.ArgumentParser(prog="python -m lit_bench.gpu_static", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, help="write gpu_static.json and gpu_static.md here")
    p.add_argument("--check", type=Path, help="baseline gpu_static.json: exit 1 on a regression")
    p.add_argument("--build-dir", type=Path, help="reuse (or keep) the nvcc objects and logs here")
    args = p.parse_args(argv)
    if find_nvcc() is None:
        print("gpu_static: nvcc not found (set CUDA_HOME to a CUDA toolkit)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        build = args.build_dir or Path(tmp)
        build.mkdir(parents=True, exist_ok=True)
        ptxas, sass = compile_and_read(build)
    report = build_report(ptxas, sass)
    if sass is None:
        print("gpu_static: cuobjdump not found, so no instruction mix (registers and spills only)")
    if args.out:
        nvcc = subprocess.run([str(find_nvcc()), "--version"], capture_output=True, text=True).stdout
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        meta = {
            "command": "python -m lit_bench.gpu_static " + " ".join(argv if argv is not None else sys.argv[1:]),
            "nvcc": (nvcc.strip().splitlines() or ["?"])[-1],
            "cuobjdump": str(find_cuobjdump()),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "git": git.stdout.strip() or "?",
        }
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_static.json").write_text(json.dumps({"meta": meta, **report}, indent=1) + "\n")
        (args.out / "gpu_static.md").write_text(to_markdown(report, meta))
        print(f"gpu_static: wrote {args.out / 'gpu_static.md'}")
    if args.check:
        problems = regressions(report, json.loads(args.check.read_text()))
        for line in problems:
            print(f"gpu_static: regression: {line}", file=sys.stderr)
        if problems:
            return 1
        print(f"gpu_static: no spills, nothing worse than {args.check}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
