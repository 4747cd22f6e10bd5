"""``python -m lit_bench`` entry point."""

import sys

from .cli import main

sys.exit(main())
