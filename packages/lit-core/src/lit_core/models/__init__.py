"""Operations on models that are not training: find them by name, measure, fold, prune.

``build`` (a model by registered name or ``module:function``, without importing a zoo),
``profile`` (parameters, MACs, conv layers), ``fold`` (BatchNorm folding) and ``pruning``
(Han et al.'s magnitude masks). Shared by the trainer, the application and lit-bench.
"""

from .build import ENTRY_POINT_GROUP, build_model, is_import_path
from .fold import conv_bn_pairs, fold_conv_bn
from .profile import (
    ModelProfile,
    count_conv_layers,
    count_depth,
    count_macs,
    count_params,
    profile_model,
)
from .pruning import (
    apply_masks,
    count_nonzero,
    iterative_prune,
    magnitude_masks,
    make_permanent,
    nonzero_masks,
    prunable_weights,
    prune_to_nonzero,
    sparsity_of,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "ModelProfile",
    "apply_masks",
    "build_model",
    "conv_bn_pairs",
    "count_conv_layers",
    "count_depth",
    "count_macs",
    "count_nonzero",
    "count_params",
    "fold_conv_bn",
    "is_import_path",
    "iterative_prune",
    "magnitude_masks",
    "make_permanent",
    "nonzero_masks",
    "profile_model",
    "prunable_weights",
    "prune_to_nonzero",
    "sparsity_of",
]
