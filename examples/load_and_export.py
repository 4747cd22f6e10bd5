"""Load a trained lit student with plain torch, classify with its recorded preprocessing, export it.

    python examples/load_and_export.py results/<run>/lit/best.pt OUT_DIR
"""

import sys
from pathlib import Path

import torch

import lit_models
from lit_core.app.export import export_checkpoint

checkpoint, out_dir = Path(sys.argv[1]), Path(sys.argv[2])

# the three lines: a plain dict read without running code, the registered model, its weights
ckpt = torch.load(checkpoint, weights_only=True)
student = lit_models.create_model(ckpt["meta"]["model"], **ckpt["meta"]["model_kwargs"])
student.load_state_dict(ckpt["model"])

# the input pipeline travels with the checkpoint: raw pixels / scale, then (x - mean) / std
pre = ckpt["meta"]["preprocessing"]
raw = torch.rand(1, *pre["input_shape"]) * pre["scale"]  # stands in for one image of yours
mean, std = torch.tensor(pre["mean"])[:, None, None], torch.tensor(pre["std"])[:, None, None]
x = (raw / pre["scale"] - mean) / std
with torch.no_grad():
    label = student.eval()(x).argmax(1).item()
print(f"{pre['dataset']}: predicted class {label} ({pre['class_names'][label]})")

# export: each file is checked against the eager model before it is written (= `lit export`)
out_dir.mkdir(parents=True, exist_ok=True)
for fmt, name in (("onnx", "student.onnx"), ("torch-export", "student.pt2"),
                  ("safetensors", "student.safetensors")):
    print("wrote", export_checkpoint(checkpoint, fmt, out_dir / name, overwrite=True))
