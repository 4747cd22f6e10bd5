"""Files: atomic writes and code-free checkpoints (``weights_only=True``).

``atomic`` (temp file + fsync + ``os.replace``, and the one figure writer) and ``checkpoint``
(training checkpoints, RNG state, loading weights into a model).
"""

from .atomic import atomic_write, save_figure, write_json_atomic, write_text_atomic
from .checkpoint import (
    capture_rng_state,
    cuda_rng_for_this_device,
    load_checkpoint,
    load_model_weights,
    load_state_into,
    restore_rng_state,
    save_atomic,
)

__all__ = [
    "atomic_write",
    "capture_rng_state",
    "cuda_rng_for_this_device",
    "load_checkpoint",
    "load_model_weights",
    "load_state_into",
    "restore_rng_state",
    "save_atomic",
    "save_figure",
    "write_json_atomic",
    "write_text_atomic",
]
