"""lit-bench: does depth compression pay? Latency/throughput of LIT students vs pruned baselines."""

__version__ = "0.1.0"

__all__ = ["__version__"]
