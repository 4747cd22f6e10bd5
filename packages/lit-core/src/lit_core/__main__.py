"""``python -m lit_core``: the ``lit`` command line."""

import sys

from .cli.main import main

sys.exit(main())
