"""``python -m lit_core``: the ``lit`` command line."""

import sys

from .cli import main

sys.exit(main())
