"""tools/gpu_check.sh in its CPU dry mode (so the prepared GPU check cannot rot)."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_dry_mode_plans_every_step_within_the_budget(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "tools" / "gpu_check.sh"), "--dry", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpu_check.tar.gz", "summary.md"]
    summary = (tmp_path / "summary.md").read_text()
    steps = [line.split("|")[1].strip() for line in summary.splitlines() if "| planned |" in line]
    assert steps == ["env", "install", "build-op", "pytest-cuda", "sanitizers", "bench"]
    limits = [int(line.split("|")[4]) for line in summary.splitlines() if "| planned |" in line]
    assert sum(limits) <= 480
    with tarfile.open(tmp_path / "gpu_check.tar.gz") as tar:
        logs = {Path(n).name for n in tar.getnames() if n.endswith(".log")}
    assert logs == {f"{s}.log" for s in steps}
