"""``python -m lit_core.gan --preset gan-cpu --out results [--train-teacher]``: the StarGAN
compression run (or the teacher's training) before the ``lit`` CLI dispatches to it."""

import sys

from .cli import main

sys.exit(main())
