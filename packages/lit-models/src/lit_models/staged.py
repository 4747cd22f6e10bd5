"""``as_staged``: give any ``nn.Module`` the stage interface by naming its modules.

Supported models: those whose ``forward`` is the named modules applied in order (stem, each
stage, head), with at most a flatten before a linear classifier: a head part that is an
``nn.Linear`` (or a Sequential starting with one) gets an ``nn.Flatten(1)`` in front of it
(a no-op on inputs that are already 2-D). Modules not named are left out of the wrapper. The
wrapper holds the model's own modules (no copies), so training it trains the model.

With ``example_input`` the wrapper checks that the composition reproduces ``model(x)`` (eval
mode) and measures ``feature_info`` (channels = dim 1, reduction = input length / output
length along the last dim). Without it, ``num_chs`` is the last conv/linear/norm width found in
each stage, ``reduction`` is ``None`` and ``example_input()`` raises.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from ._base import StagedNet

__all__ = ["as_staged"]


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


class _StagedWrapper(StagedNet):
    """A StagedNet over another model's modules; ``example_input`` repeats the stored example."""

    def __init__(self, stem, stages, head, info, example: torch.Tensor | None) -> None:
        size = tuple(example.shape[1:]) if example is not None else ()
        super().__init__(stem, stages, head, info, input_size=size)
        self.register_buffer("_example", None if example is None else example.detach(), persistent=False)

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        """``batch_size`` rows of the example given to ``as_staged`` (repeated as needed)."""
        if self._example is None:
            raise ValueError("this model was wrapped without example_input; pass example_input= to as_staged")
        return self._example[torch.arange(batch_size) % self._example.shape[0]]


def _measure(wrapper: _StagedWrapper, model: nn.Module, x: torch.Tensor) -> list[dict]:
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
) -> StagedNet:
    """Wrap ``model`` by dotted module names into a StagedNet (``stages.0 … stages.N-1``)."""
    if isinstance(stages, str) or len(stages) == 0:
        raise ValueError("stages must be a non-empty list of module names, e.g. ['layer1', 'layer2']")
    groups = [_names(stem), *[_names(s) for s in stages], _names(head)]
    _check_disjoint([n for g in groups for n in g])
    stem_m = _assemble(model, groups[0])
    stage_ms = [_assemble(model, g) for g in groups[1:-1]]
    head_m = _assemble(model, groups[-1], flatten_linear=True)
    info = [{"num_chs": _last_width(s), "reduction": None, "module": f"stages.{i}"} for i, s in enumerate(stage_ms)]
    wrapper = _StagedWrapper(stem_m, stage_ms, head_m, info, example_input)
    if example_input is not None:
        wrapper.feature_info = _measure(wrapper, model, example_input)
    return wrapper
