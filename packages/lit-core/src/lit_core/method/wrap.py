"""``as_staged``: give any ``nn.Module`` the stage interface by naming its modules.

Supported models: those whose ``forward`` is the named modules applied in order (stem, each
stage, head), with at most a flatten before a linear classifier: a head part that is an
``nn.Linear`` (or a Sequential starting with one) gets an ``nn.Flatten(1)`` in front of it
(a no-op on inputs that are already 2-D). Modules not named are left out of the wrapper. The
wrapper holds the model's own modules (no copies), so training it trains the model.

Its ``state_dict()`` uses the **original model's keys** (``conv1.weight``, ``layer1.0.bn1.…``,
``fc.bias``) and ``load_state_dict`` accepts them, so a checkpoint of a trained student loads
into the user's own class with plain torch; ``unwrap()`` returns the original model itself.

With ``example_input`` the wrapper checks that the composition reproduces ``model(x)`` (eval
mode) and measures ``feature_info`` (channels = dim 1, reduction = input length / output
length along the last dim). Without it, ``num_chs`` is the last conv/linear/norm width found in
each stage, ``reduction`` is ``None`` and ``example_input()`` raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn

from .staged import stage_outputs

__all__ = ["StagedWrapper", "as_staged", "unwrap"]


def _resolve(model: nn.Module, name: str) -> nn.Module:
    try:
        if not name:
            raise AttributeError(name)
        return model.get_submodule(name)
    except AttributeError:
        children = ", ".join(n for n, _ in model.named_children()) or "(none)"
        raise ValueError(
            f"{type(model).__name__} has no module {name!r}; its top-level children are: {children}"
        ) from None


def _names(spec: str | Sequence[str]) -> list[str]:
    return [spec] if isinstance(spec, str) else list(spec)


def _starts_with_linear(module: nn.Module) -> bool:
    while isinstance(module, nn.Sequential) and len(module) > 0:
        module = module[0]
    return isinstance(module, nn.Linear)


def _assemble(model: nn.Module, names: list[str], *, flatten_linear: bool = False) -> nn.Module:
    parts: list[nn.Module] = []
    for name in names:
        module = _resolve(model, name)
        if flatten_linear and _starts_with_linear(module):
            parts.append(nn.Flatten(1))
        parts.append(module)
    if not parts:
        return nn.Identity()
    return parts[0] if len(parts) == 1 else nn.Sequential(*parts)


def _check_disjoint(names: list[str]) -> None:
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if a == b or b.startswith(a + ".") or a.startswith(b + "."):
                raise ValueError(f"modules {a!r} and {b!r} overlap; each module may be named once")


def _last_width(module: nn.Module) -> int | None:
    for m in reversed(list(module.modules())):
        for attr in ("out_channels", "out_features", "num_features"):
            if isinstance(getattr(m, attr, None), int):
                return getattr(m, attr)
    return None


def _rename(names: dict[str, str], keys: list[str], prefix: str) -> dict[str, str]:
    """``{prefix + old: prefix + new}`` for every key under ``prefix`` that ``names`` renames."""
    out = {}
    for key in keys:
        if key.startswith(prefix) and key[len(prefix):] in names:
            out[key] = prefix + names[key[len(prefix):]]
    return out


class StagedWrapper(nn.Module):
    """Another model's modules as ``stem`` → ``stages.0 … stages.N-1`` → ``head``.

    Built by ``as_staged``. ``forward(x) == head(stages[-1](…stages[0](stem(x))))``;
    ``state_dict()``/``load_state_dict()`` speak the original model's keys; ``unwrap()`` is the
    original model (its modules are the wrapper's, so it holds whatever the wrapper was trained to).

    Args:
        model: the original model.
        stem: its stem modules, composed.
        stages: its stage modules, composed per stage.
        head: its head modules, composed.
        feature_info: ``{num_chs, reduction, module}`` per stage.
        example: the example batch given to ``as_staged``, or None.

    Examples:
        >>> import torchvision
        >>> staged = as_staged(torchvision.models.resnet18(), stem=["conv1", "bn1", "relu", "maxpool"],
        ...                    stages=["layer1", "layer2", "layer3", "layer4"], head=["avgpool", "fc"])
        >>> isinstance(staged, StagedWrapper), len(staged.stages), next(iter(staged.state_dict()))
        (True, 4, 'conv1.weight')
    """

    def __init__(self, model: nn.Module, stem: nn.Module, stages: Sequence[nn.Module],
                 head: nn.Module, feature_info: list[dict], example: torch.Tensor | None) -> None:
        super().__init__()
        self.stem = stem
        self.stages = nn.ModuleList(stages)
        self.head = head
        self.feature_info = feature_info
        self.input_size = tuple(example.shape[1:]) if example is not None else ()
        self.register_buffer("_example", None if example is None else example.detach(),
                             persistent=False)
        object.__setattr__(self, "_original", model)  # not a submodule: its tensors are ours
        # wrapper key -> original key (tensors matched by identity, before any training moves them)
        ids = {id(t): k for k, t in model.state_dict(keep_vars=True).items()}
        mine = nn.Module.state_dict(self, keep_vars=True)
        self._to_original = {k: ids[id(t)] for k, t in mine.items() if id(t) in ids}
        self._from_original = {v: k for k, v in self._to_original.items()}
        modules = {id(m): n for n, m in model.named_modules()}
        self._module_names = {n: modules[id(m)] for n, m in self.named_modules()
                              if n and id(m) in modules}
        self.register_state_dict_post_hook(StagedWrapper._keys_out)
        self.register_load_state_dict_pre_hook(StagedWrapper._keys_in)

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of every stage, in order (``len == len(self.stages)``; ``stage_outputs``)."""
        return stage_outputs(self, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_stages(x)[-1])

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        """``batch_size`` rows of the example given to ``as_staged`` (repeated as needed)."""
        if self._example is None:
            raise ValueError("this model was wrapped without example_input; pass example_input= to as_staged")
        return self._example[torch.arange(batch_size) % self._example.shape[0]]

    def unwrap(self) -> nn.Module:
        """The original model (same modules, so same weights as the wrapper)."""
        return self._original

    @staticmethod
    def _keys_out(module: StagedWrapper, state_dict: dict, prefix: str, local_metadata: Any) -> None:
        renamed = _rename(module._to_original, list(state_dict), prefix)
        items = [(renamed.get(k, k), v) for k, v in state_dict.items()]
        state_dict.clear()
        state_dict.update(items)
        metadata = getattr(state_dict, "_metadata", None)
        if metadata is not None:
            for old, new in _rename(module._module_names, list(metadata), prefix).items():
                metadata[new] = metadata.pop(old)

    @staticmethod
    def _keys_in(module: StagedWrapper, state_dict: dict, prefix: str, *_: Any) -> None:
        for new, old in _rename(module._from_original, list(state_dict), prefix).items():
            state_dict[old] = state_dict.pop(new)


def _measure(wrapper: StagedWrapper, model: nn.Module, x: torch.Tensor) -> list[dict]:
    modes = [(m, m.training) for m in (wrapper, model)]
    wrapper.eval()
    model.eval()
    try:
        with torch.no_grad():
            try:
                outs = wrapper.forward_stages(x)
                got = wrapper.head(outs[-1])
            except Exception as err:
                raise ValueError(f"running stem → stages → head on example_input failed: {err}") from err
            want = model(x)
        try:
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
        except AssertionError as err:
            raise ValueError(
                "stem → stages → head does not reproduce model(example_input); as_staged supports "
                f"only models whose forward applies the named modules in order ({err})"
            ) from None
    finally:
        for m, training in modes:
            m.train(training)
    return [
        {"num_chs": int(o.shape[1]) if o.dim() > 1 else 1,
         "reduction": max(1, round(x.shape[-1] / o.shape[-1])) if o.dim() > 2 else 1,
         "module": f"stages.{i}"}
        for i, o in enumerate(outs)
    ]


def as_staged(
    model: nn.Module,
    *,
    stem: str | Sequence[str],
    stages: Sequence[str | Sequence[str]],
    head: str | Sequence[str],
    example_input: torch.Tensor | None = None,
) -> StagedWrapper:
    """Give ``model`` the stage interface (``stem``, ``stages.0 … stages.N-1``, ``head``) by module names.

    Args:
        model: any ``nn.Module`` whose ``forward`` applies the named modules in order.
        stem: the dotted name(s) of the modules before the first stage (``[]``: none).
        stages: one entry per stage, each a dotted name or a list of them.
        head: the module name(s) after the last stage; a leading ``nn.Linear`` gets a flatten.
        example_input: a batch to check that the wrapper reproduces ``model(x)`` and to measure
            ``feature_info``; strongly recommended.

    Returns:
        A ``StagedWrapper`` sharing ``model``'s modules, whose ``state_dict`` keys are ``model``'s.

    Raises:
        ValueError: a name that is not a module, overlapping names, or a composition that does
            not reproduce ``model(example_input)``.

    Examples:
        >>> import torch, torchvision
        >>> net = torchvision.models.resnet18(num_classes=10)
        >>> staged = as_staged(net, stem=["conv1", "bn1", "relu", "maxpool"],
        ...                    stages=["layer1", "layer2", "layer3", "layer4"],
        ...                    head=["avgpool", "fc"], example_input=torch.randn(2, 3, 64, 64))
        >>> [i["num_chs"] for i in staged.feature_info]
        [64, 128, 256, 512]
        >>> torchvision.models.resnet18(num_classes=10).load_state_dict(staged.state_dict())
        <All keys matched successfully>
    """
    if isinstance(stages, str) or len(stages) == 0:
        raise ValueError("stages must be a non-empty list of module names, e.g. ['layer1', 'layer2']")
    groups = [_names(stem), *[_names(s) for s in stages], _names(head)]
    _check_disjoint([n for g in groups for n in g])
    stem_m = _assemble(model, groups[0])
    stage_ms = [_assemble(model, g) for g in groups[1:-1]]
    head_m = _assemble(model, groups[-1], flatten_linear=True)
    info = [{"num_chs": _last_width(s), "reduction": None, "module": f"stages.{i}"}
            for i, s in enumerate(stage_ms)]
    wrapper = StagedWrapper(model, stem_m, stage_ms, head_m, info, example_input)
    if example_input is not None:
        wrapper.feature_info = _measure(wrapper, model, example_input)
    return wrapper


def unwrap(model: nn.Module) -> nn.Module:
    """The user's original model behind an ``as_staged`` wrapper (any other model as it is).

    Args:
        model: a ``StagedWrapper`` (or any model).

    Returns:
        The wrapped original model, holding the trained weights; ``model`` itself otherwise.

    Examples:
        >>> import torchvision
        >>> net = torchvision.models.resnet18(num_classes=10)
        >>> staged = as_staged(net, stem=["conv1", "bn1", "relu", "maxpool"],
        ...                    stages=["layer1", "layer2", "layer3", "layer4"], head=["avgpool", "fc"])
        >>> unwrap(staged) is net
        True
    """
    return model.unwrap() if isinstance(model, StagedWrapper) else model
