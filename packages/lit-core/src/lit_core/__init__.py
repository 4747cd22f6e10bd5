"""lit-core: LIT (Learned Intermediate representation Training) losses, trainer, data and CLI."""

from .staged import StagedModel, require_staged

__version__ = "0.1.0"

__all__ = ["StagedModel", "__version__", "require_staged"]
