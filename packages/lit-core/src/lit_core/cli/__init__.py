"""The ``lit`` command line (``lit_core.cli.main``) and the stale-result check built on it
(``python -m lit_core.cli.reproduce``). The top of lit-core: nothing below imports it."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
