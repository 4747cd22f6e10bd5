"""Models under test: LIT teachers and students, and pruned baselines of the teachers.

A row of the bench is one ``Candidate``: a base model (``resnet110`` …) in a ``variant``
(``dense`` or a pruning method) with its size (params, MACs, conv layers) and, when a lit-core
checkpoint is given, its test accuracy. Building never stops at the first problem: each model or
variant that cannot be built becomes a ``Skipped`` entry with a one-line reason.

Checkpoints are keyed ``MODEL`` (the dense model; pruned variants of it are then pruned from the
trained weights, *without* fine-tuning) or ``MODEL/VARIANT`` (e.g. a fine-tuned pruned net, see
``lit_bench.finetune``). Structured variants take their channel counts from the checkpoint. Checkpoints are read with
lit-core's loader (``weights_only=True``: a checkpoint never runs code) and sizes counted with
lit-core's profiler; lit-core is imported lazily (``pip install packages/lit-core``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from .counting import count_nonzero_params, lit_core_profile
from .prune import LI2017_CONFIGS, depgraph_prune, l1_filter_prune, unstructured_prune

__all__ = [
    "DEFAULT_MODELS",
    "EXTRA_VARIANTS",
    "GENERATORS",
    "STUDENTS",
    "TEACHERS",
    "VARIANTS",
    "Candidate",
    "InputSpec",
    "Skipped",
    "TranslateTo",
    "build_candidates",
    "calibrate_bn",
    "create_base_model",
    "describe",
    "example_input",
    "input_of",
    "load_weights",
    "make_variant",
    "read_state_dict",
]

TEACHERS = ("resnet110", "resnet56", "vdcnn29", "vdcnn49", "stargan_g6")
STUDENTS = ("resnet20", "resnet32", "resnet56")
DEFAULT_MODELS = ("resnet110", "resnet56", "resnet32", "resnet20")
#: dense, Han et al. unstructured (to the student's parameter count), Li et al. ResNet-X-A/B,
#: DepGraph ≈2× fewer MACs (plain, and channels rounded to multiples of 8).
VARIANTS = ("dense", "unstructured", "l1-A", "l1-B", "depgraph", "depgraph-r8")
#: asked for by name (``--run`` adds it): DepGraph pruned to the target student's MACs, so a
#: pruned teacher and the student are compared at matched cost.
EXTRA_VARIANTS = ("depgraph-matched",)
STRUCTURED = ("l1-A", "l1-B", "depgraph", "depgraph-r8", "depgraph-matched")


#: StarGAN generators of the ``gan-cpu`` preset (Fashion-MNIST domains): the 6-block teacher and
#: the 2-block student; timed as image → image translation to one target domain.
GENERATORS = {"stargan_g6": 6, "stargan_g2": 2}
GAN_SETTINGS = {"c_dim": 10, "conv_dim": 16, "img_size": 32, "in_chans": 1}
TEXT_VOCAB = 69  # lit_core.data.text: Conneau et al.'s 67 characters + padding + unknown


@dataclass(frozen=True)
class InputSpec:
    """Input the models are built for (CIFAR by default; a checkpoint's data set otherwise);
    ``seq_len`` is the characters per sequence of text models (VDCNN)."""

    in_chans: int = 3
    img_size: int = 32
    num_classes: int = 10
    seq_len: int = 256

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.in_chans, self.img_size, self.img_size)


class TranslateTo(nn.Module):
    """A conditional generator as a one-input model: ``x ↦ G([x, c])`` for a fixed target domain, so
    every backend (ONNX export, compile, graphs) times it like a classifier."""

    def __init__(self, generator: nn.Module, c_dim: int, domain: int = 1) -> None:
        super().__init__()
        self.generator = generator
        self.register_buffer("code", torch.nn.functional.one_hot(torch.tensor([domain]), c_dim).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tiled = torch.ones_like(x[:, :1]) * self.code[:, :, None, None]  # N×c×H×W, as StarGAN tiles it
        return self.generator(torch.cat([x, tiled], 1))


def input_of(name: str, spec: InputSpec) -> tuple[tuple[int, ...], torch.dtype]:
    """Per-example input shape and dtype of model ``name``: images, token ids (VDCNN) or the
    generators' 1×32×32 images."""
    if name in GENERATORS:
        return (GAN_SETTINGS["in_chans"], GAN_SETTINGS["img_size"], GAN_SETTINGS["img_size"]), torch.float32
    if name.startswith("vdcnn"):
        return (spec.seq_len,), torch.int64
    return spec.shape, torch.float32


def example_input(shape: tuple[int, ...], dtype: torch.dtype, batch: int,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """A random batch: token ids in [0, vocabulary) for int64 inputs, else standard normal."""
    if not dtype.is_floating_point:
        return torch.randint(0, TEXT_VOCAB, (batch, *shape), generator=generator, dtype=dtype)
    return torch.randn(batch, *shape, generator=generator)


@dataclass
class Candidate:
    """One model under test (eval mode, CPU, fp32) and its size and accuracy; see ``build_candidates``.

    Attributes:
        model: the lit-models name.
        variant: ``"dense"`` or a pruned variant.
        role: ``"teacher"``, ``"student"`` or ``"pruned"``.
        module: the built model.
        params: parameter count (nonzero, for unstructured pruning).
        macs: multiply-accumulates per example.
        conv_layers: the number of convolution layers.
        input_shape: one example's shape.
        input_dtype: the input dtype (int64 for token ids).
        accuracy: test accuracy from a checkpoint, when known.
        accuracy_std: its spread over seeds, when known.
        accuracy_n: the number of seeds behind it.
        trained: weights came from a checkpoint.
        note: anything the report should say about it.
    """

    model: str
    variant: str
    role: str  # "teacher", "student" or "pruned"
    module: nn.Module = field(repr=False)
    params: int
    macs: int
    conv_layers: int
    input_shape: tuple[int, ...] = (3, 32, 32)
    input_dtype: torch.dtype = torch.float32  # int64 for token ids (text models)
    accuracy: float | None = None
    accuracy_std: float | None = None  # spread over seeds (a lit run's seeds study), else None
    accuracy_n: int | None = None  # how many trained models the accuracy averages
    trained: bool = False  # weights come from a checkpoint (so accuracy means something)
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.model}/{self.variant}"


@dataclass(frozen=True)
class Skipped:
    """A model/variant (or backend, …) that produced no row, and why."""

    model: str
    variant: str
    reason: str
    backend: str = ""


def create_base_model(name: str, spec: InputSpec = InputSpec()) -> nn.Module:
    """Build a lit-models model by name for ``spec`` (lit-models is imported lazily)."""
    try:
        from lit_models import create_model
    except ImportError as exc:
        raise RuntimeError(
            "lit-models is not installed; pip install packages/lit-models (the bench builds its "
            "models from it)"
        ) from exc
    if name in GENERATORS:
        g = create_model("stargan_generator", stage_blocks=[GENERATORS[name]], **GAN_SETTINGS)
        return TranslateTo(g, GAN_SETTINGS["c_dim"]).eval()
    if name.startswith("vdcnn"):
        return create_model(name, num_classes=spec.num_classes, seq_len=spec.seq_len,
                            vocab_size=TEXT_VOCAB).eval()
    return create_model(
        name, num_classes=spec.num_classes, in_chans=spec.in_chans, img_size=spec.img_size
    ).eval()


def _lit_core_checkpoint():
    try:
        from lit_core import io
    except ImportError as exc:
        raise RuntimeError("loading checkpoints needs lit-core: pip install packages/lit-core") from exc
    return io


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The model state dict in a lit-core checkpoint (or a bare state dict file); a file that is
    missing, not a checkpoint or holds no state dict raises ``ValueError``/``FileNotFoundError``
    with a one-line message naming the file."""
    checkpoint = _lit_core_checkpoint()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist (or is not a file)")
    try:
        ckpt = checkpoint.load_checkpoint(path)  # weights_only=True: never executes code
    except Exception as exc:  # torch.load's errors on a foreign file are KeyError, EOFError, …
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(
            f"checkpoint {path} is not a PyTorch checkpoint readable with weights_only=True "
            f"({type(exc).__name__}{': ' + first[:120] if first else ''}); pass a lit run's best.pt/last.pt"
        ) from None
    state = ckpt.get("model", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"checkpoint {path} holds no model state dict (expected a lit checkpoint or a state dict)")
    return state


def _resize_to(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Rebuild convs, BNs and linears whose weight shape differs in ``state`` (pruned channels)."""
    for name, m in list(model.named_modules()):
        w = state.get(f"{name}.weight")
        if w is None or not hasattr(m, "weight") or tuple(w.shape) == tuple(m.weight.shape):
            continue
        if isinstance(m, nn.Conv2d):
            new: nn.Module = nn.Conv2d(
                w.shape[1] * m.groups, w.shape[0], m.kernel_size, m.stride, m.padding,
                m.dilation, m.groups, bias=m.bias is not None,
            )
        elif isinstance(m, nn.BatchNorm2d):
            new = nn.BatchNorm2d(w.shape[0], eps=m.eps, momentum=m.momentum)
        elif isinstance(m, nn.Linear):
            new = nn.Linear(w.shape[1], w.shape[0], bias=m.bias is not None)
        else:
            continue
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, new)


def load_weights(model: nn.Module, path: str | os.PathLike, *, resize: bool = False) -> nn.Module:
    """Load a lit-core checkpoint (or bare state dict) into ``model``; mismatch → ValueError."""
    state = read_state_dict(path)
    if resize:
        _resize_to(model, state)
    try:
        _lit_core_checkpoint().load_state_into(model, state)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return model.eval()


def make_variant(
    base: nn.Module, model_name: str, variant: str, *, unstructured_target: int,
    input_shape: tuple[int, ...] = (3, 32, 32), target_macs: int | None = None,
) -> nn.Module:
    """The ``variant`` of ``base`` (a pruned copy; ``dense`` returns ``base`` itself).
    ``unstructured_target``: nonzero parameters left by Han et al. pruning; ``target_macs``: the
    MACs ``depgraph-matched`` prunes down to (the student's)."""
    if variant == "dense":
        return base
    if variant == "unstructured":
        return unstructured_prune(base, unstructured_target)
    if variant in ("l1-A", "l1-B"):
        configs = LI2017_CONFIGS.get(model_name)
        if configs is None:
            raise ValueError(
                f"Li et al. configurations exist for {', '.join(LI2017_CONFIGS)} only, not {model_name}"
            )
        return l1_filter_prune(base, configs[variant[-1]])
    if variant in ("depgraph", "depgraph-r8"):
        return depgraph_prune(base, 2.0, round_to=8 if variant.endswith("r8") else None,
                              input_size=input_shape)
    if variant == "depgraph-matched":
        if not target_macs:
            raise ValueError("depgraph-matched needs the student's MACs (target_macs)")
        base_macs = lit_core_profile().count_macs(base, input_shape)
        if base_macs <= target_macs:
            raise ValueError(f"{model_name} has {base_macs:,} MACs, not more than the student's {target_macs:,}")
        return depgraph_prune(base, base_macs / target_macs, input_size=input_shape, steps=40, max_ratio=0.95)
    raise ValueError(f"unknown variant {variant!r}; valid: {', '.join(VARIANTS + EXTRA_VARIANTS)}")


@torch.no_grad()
def calibrate_bn(model: nn.Module, input_shape: tuple[int, ...], batches: int = 2, batch_size: int = 16,
                 input_dtype: torch.dtype = torch.float32) -> None:
    """Set BN running statistics from random inputs (cumulative average), then eval mode.

    For untrained weights only: with init statistics (mean 0, var 1) activations grow through the
    residual adds of a deep net until fp16 overflows; calibrated statistics keep them at unit
    scale, as in a trained net. Latency does not depend on the values.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    gen = torch.Generator().manual_seed(0)
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the calibration batches
    model.train()
    for _ in range(batches):
        model(example_input(input_shape, input_dtype, batch_size, gen))
    for m, momentum in zip(bns, saved, strict=True):
        m.momentum = momentum
    model.eval()


def describe(name: str, variant: str, module: nn.Module, spec: InputSpec, role: str | None = None) -> Candidate:
    """A ``Candidate`` for ``module`` with its size counted (role from the name unless given)."""
    role = role or ("pruned" if variant != "dense" else ("teacher" if name in TEACHERS else "student"))
    shape, dtype = input_of(name, spec)
    size = lit_core_profile().profile_model(module, shape, dtype)
    params = count_nonzero_params(module) if variant == "unstructured" else size.params
    return Candidate(
        model=name, variant=variant, role=role, module=module.eval(), params=params,
        macs=size.macs, conv_layers=size.conv_layers, input_shape=shape, input_dtype=dtype,
    )


def build_candidates(
    models: Iterable[str],
    variants: Iterable[str],
    *,
    checkpoints: Mapping[str, str | os.PathLike] | None = None,
    spec: InputSpec = InputSpec(),
    unstructured_target: str = "resnet20",
    log: Callable[[str], None] = print,
) -> tuple[list[Candidate], list[Skipped]]:
    """Build every requested model × variant (pruned variants for teachers only); never raises.

    Args:
        models: lit-models names (``"resnet110"``, ``"resnet20"``, …).
        variants: ``"dense"``, ``"unstructured"``, ``"l1-A"``, ``"l1-B"``, ``"depgraph"``, …
        checkpoints: ``{model or model/variant: best.pt}`` weights to load (and accuracy to read).
        spec: the input (channels, image size, classes, sequence length).
        unstructured_target: the model whose parameter count unstructured pruning matches.
        log: where progress lines go.

    Returns:
        ``(candidates, skipped)``: the built ``Candidate`` objects, and a ``Skipped`` (with the
        reason) for each one that could not be built.

    Examples:
        >>> built, skipped = build_candidates(["resnet20"], ["dense", "base"], log=lambda line: None)
        >>> [(c.model, c.variant, c.role) for c in built]
        [('resnet20', 'dense', 'student')]
        >>> skipped[0].reason
        "unknown variant 'base'; valid: dense, unstructured, ..."
    """
    checkpoints = dict(checkpoints or {})
    variants = list(dict.fromkeys(variants))
    out: list[Candidate] = []
    skipped: list[Skipped] = []

    def skip(model: str, variant: str, reason: str) -> None:
        log(f"lit-bench: skipping {model}/{variant}: {reason}")
        skipped.append(Skipped(model, variant, reason))

    valid = VARIANTS + EXTRA_VARIANTS
    for v in variants:
        if v not in valid:
            skip("*", v, f"unknown variant {v!r}; valid: {', '.join(valid)}")
    variants = [v for v in variants if v in valid]
    target_params: int | None = None
    target_macs: int | None = None
    if any(v in ("unstructured", "depgraph-matched") for v in variants):
        try:
            student = create_base_model(unstructured_target, spec)
            target_params = lit_core_profile().count_params(student)
            target_macs = lit_core_profile().count_macs(student, input_of(unstructured_target, spec)[0])
        except Exception as exc:
            skip("*", "unstructured", f"cannot build the target student: {exc}")
    used_keys: set[str] = set()
    for name in dict.fromkeys(models):
        try:
            base = create_base_model(name, spec)
            if name in checkpoints:
                used_keys.add(name)
                load_weights(base, checkpoints[name])
        except Exception as exc:
            skip(name, "*", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            continue
        for variant in variants:
            if variant != "dense" and (name not in TEACHERS or not name.startswith("resnet")):
                continue  # baselines are pruned (CIFAR ResNet) teachers
            if variant in ("unstructured", "depgraph-matched") and target_params is None:
                continue
            key = f"{name}/{variant}"
            try:
                module = make_variant(base, name, variant, unstructured_target=target_params or 0,
                                      input_shape=spec.shape, target_macs=target_macs)
                if key in checkpoints and variant != "dense":
                    used_keys.add(key)
                    load_weights(module, checkpoints[key], resize=variant in STRUCTURED)
                cand = describe(name, variant, module, spec)
            except Exception as exc:
                skip(name, variant, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                continue
            if variant == "unstructured":
                cand.note = f"{cand.params} nonzero params (= {unstructured_target}); dense kernels"
            if name in checkpoints and key not in checkpoints and variant != "dense":
                cand.note = (cand.note + "; " if cand.note else "") + "pruned from the checkpoint, not fine-tuned"
            cand.trained = name in checkpoints or key in checkpoints
            if not cand.trained:
                calibrate_bn(cand.module, cand.input_shape, input_dtype=cand.input_dtype)
            out.append(cand)
    for key in checkpoints:
        model, _, variant = key.partition("/")
        if key not in used_keys and not any(s.model == model for s in skipped):
            skip(model, variant or "dense", f"checkpoint {key} matches no selected model/variant")
    return out, skipped
