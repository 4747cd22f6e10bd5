"""``lit export``: a trained model's checkpoint as ONNX, a ``torch.export`` program or safetensors.

Each output is built in memory, checked against the eager model on a batch, and only then written
(atomically). The checkpoint is read with ``weights_only=True`` and must name a registered model
(``meta.model``); its preprocessing record (``meta.preprocessing``) travels with the output as
metadata (ONNX ``metadata_props``, a ``lit_preprocessing.json`` extra file, safetensors metadata).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..errors import CheckpointError, ConfigError, OutputExistsError, optional_import
from ..io.atomic import atomic_write
from ..io.checkpoint import check_counts_fit_state, load_checkpoint
from ..models.build import build_model, is_import_path
from .specs import ModelSpec, load_weights

__all__ = ["EXPORT_FORMATS", "export_checkpoint", "load_trained_model"]

#: format name -> file suffix
EXPORT_FORMATS = {"onnx": ".onnx", "torch-export": ".pt2", "safetensors": ".safetensors"}


def load_trained_model(path: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """The model a lit checkpoint records (registered name + kwargs), weights loaded, in eval mode;
    and the checkpoint's ``meta``. ``CheckpointError`` when it is not a lit model checkpoint."""
    ckpt = load_checkpoint(path)
    meta = ckpt.get("meta")
    name = meta.get("model") if isinstance(meta, dict) else None
    if not isinstance(ckpt.get("model"), dict) or not isinstance(name, str):
        raise CheckpointError(
            f"{path} is not a lit model checkpoint (it needs a 'model' state dict and meta.model "
            "naming a registered model); give best.pt or last.pt of a trained teacher or student"
        )
    kwargs = meta.get("model_kwargs") or {}
    if is_import_path(name) or not isinstance(kwargs, dict):
        raise CheckpointError(f"{path} names the model builder {name!r}; only registered models load")
    check_counts_fit_state(kwargs, ckpt["model"], path)
    # built on the meta device and compared first: its kwargs cannot make us allocate much
    spec = ModelSpec(name, dict(kwargs), allow_import=False)
    return load_weights(spec, Path(path), ckpt).eval(), meta


def _example(model: nn.Module, meta: dict[str, Any], batch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    pre = meta.get("preprocessing") or {}
    if pre.get("input_shape"):
        shape = (batch, *pre["input_shape"])
        if pre.get("kind") == "text":
            return torch.randint(0, int(pre["vocab_size"]), shape, generator=g)
        return torch.randn(shape, generator=g)
    if hasattr(model, "example_input"):  # a checkpoint from before the preprocessing record
        one = model.example_input()
        return one.repeat(batch, *([1] * (one.dim() - 1)))
    raise CheckpointError("the checkpoint records no input shape (meta.preprocessing); retrain it "
                          "with this version of lit")


def _close(name: str, got: torch.Tensor, want: torch.Tensor) -> None:
    err = (got.float() - want.float()).abs().max().item()
    tol = 1e-4 * max(1.0, want.abs().max().item())
    if not err <= tol:
        raise CheckpointError(f"the {name} export differs from the eager model by {err:.3g} "
                              f"(tolerance {tol:.3g}); nothing was written")


def _onnx(model: nn.Module, x: torch.Tensor, meta_json: str, checks: list[torch.Tensor]) -> bytes:
    optional_import("onnxscript", "export", "ONNX export")
    ort = optional_import("onnxruntime", "ort", "checking an ONNX export against eager")
    prog = torch.onnx.export(model, (x,), dynamo=True, input_names=["input"], output_names=["logits"],
                             dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    proto = prog.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = "lit.preprocessing", meta_json
    data = proto.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for xx in checks:
        with torch.no_grad():
            want = model(xx)
        _close("ONNX", torch.from_numpy(session.run(None, {"input": xx.numpy()})[0]), want)
    return data


def _torch_export(model: nn.Module, x: torch.Tensor, meta_json: str, checks: list[torch.Tensor]) -> bytes:
    program = torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    buf = io.BytesIO()
    torch.export.save(program, buf, extra_files={"lit_preprocessing.json": meta_json})
    loaded = torch.export.load(io.BytesIO(buf.getvalue())).module()
    for xx in checks:
        with torch.no_grad():
            _close("torch.export", loaded(xx), model(xx))
    return buf.getvalue()


def _safetensors(model: nn.Module, meta: dict[str, Any], checks: list[torch.Tensor]) -> bytes:
    st = optional_import("safetensors.torch", "export", "safetensors export")
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    data = st.save(state, metadata={
        "format": "pt", "lit.model": meta["model"],
        "lit.model_kwargs": json.dumps(meta.get("model_kwargs") or {}),
        "lit.preprocessing": json.dumps(meta.get("preprocessing") or {}),
    })
    fresh = build_model(meta["model"], allow_import=False, **(meta.get("model_kwargs") or {})).eval()
    fresh.load_state_dict(st.load(data))
    for xx in checks:
        with torch.no_grad():
            _close("safetensors", fresh(xx), model(xx))
    return data


def export_checkpoint(checkpoint: str | os.PathLike, format: str, out: str | os.PathLike | None = None,
                      *, overwrite: bool = False) -> Path:
    """Export a lit checkpoint, check it against eager, and write it atomically.

    Args:
        checkpoint: ``best.pt``/``last.pt`` of a trained teacher or student.
        format: ``onnx``, ``torch-export`` or ``safetensors``.
        out: the output file (default: the checkpoint's path with the format's suffix).
        overwrite: replace an existing output (else ``OutputExistsError``, nothing written).

    Returns:
        The path written.

    Example:
        >>> export_checkpoint("results/run/lit/best.pt", "onnx")  # doctest: +SKIP
        PosixPath('results/run/lit/best.onnx')
    """
    if format not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    path = Path(out) if out is not None else Path(checkpoint).with_suffix(EXPORT_FORMATS[format])
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} already exists; pass --overwrite to replace it")
    if path.is_dir():
        raise OutputExistsError(f"{path} is a directory; give a file name with --out")
    model, meta = load_trained_model(checkpoint)
    x = _example(model, meta, 2)
    checks = [x, _example(model, meta, 3)]  # a second batch size: the batch axis is dynamic
    meta_json = json.dumps(meta.get("preprocessing") or {})
    if format == "onnx":
        data = _onnx(model, x, meta_json, checks)
    elif format == "torch-export":
        data = _torch_export(model, x, meta_json, checks)
    else:
        data = _safetensors(model, meta, checks)
    return atomic_write(path, lambda f: f.write(data))
