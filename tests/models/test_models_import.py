"""lit_models stands alone: importing it never imports lit_core."""

from __future__ import annotations

import subprocess
import sys


def test_import_lit_models_does_not_import_lit_core():
    code = (
        "import sys, lit_models\n"
        "assert 'lit_core' not in sys.modules, sorted(m for m in sys.modules if m.startswith('lit'))\n"
        "families = {lit_models.model_family(n) for n in lit_models.list_models()}\n"
        "print(' '.join(sorted(families)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cifar_resnet", "resnext", "stargan", "torchvision_resnet", "vdcnn"]
