"""lit-bench: does depth compression pay? Latency/throughput of LIT students vs pruned baselines.

Importing this package is light: it compiles nothing and does not initialise CUDA. The pieces:
``catalog`` (models under test), ``prune`` (pruned baselines), ``fold`` (BN folding), ``backends``
(eager, CUDA graphs, torch.compile, ONNX Runtime, …), ``bench`` (verify then time), ``timing``,
``report``, ``plan`` (a run's rows and their estimated GPU time), ``dryrun`` and ``cli``
(``python -m lit_bench``).
"""

from .backends import Backend, get_backend, list_backends, register_backend
from .bench import BenchConfig, run_bench
from .catalog import Candidate, build_candidates
from .counting import count_nonzero_params
from .fold import fold_bn
from .fuse import fuse_model
from .prune import LI2017_CONFIGS, depgraph_prune, l1_filter_prune, unstructured_prune
from .report import write_report

__version__ = "0.1.0"

__all__ = [
    "LI2017_CONFIGS",
    "Backend",
    "BenchConfig",
    "Candidate",
    "__version__",
    "build_candidates",
    "count_nonzero_params",
    "depgraph_prune",
    "fold_bn",
    "fuse_model",
    "get_backend",
    "l1_filter_prune",
    "list_backends",
    "register_backend",
    "run_bench",
    "unstructured_prune",
    "write_report",
]
