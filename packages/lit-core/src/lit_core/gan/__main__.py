"""``python -m lit_core.gan [--train-teacher] [lit options]``: the same as
``lit run --preset gan-cpu`` (or ``lit train-teacher --preset gan-cpu``); kept for old commands."""

import sys

from ..cli.main import main

args = sys.argv[1:]
command = "train-teacher" if "--train-teacher" in args else "run"
args = [a for a in args if a != "--train-teacher"]
if "--preset" not in args and "--config" not in args:
    args = ["--preset", "gan-cpu", *args]
sys.exit(main([command, *args]))
