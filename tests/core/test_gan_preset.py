"""The shipped gan-cpu preset: valid tables, and its committed teacher and classifier load."""

from __future__ import annotations

from lit_core.app.presets import load_preset
from lit_core.gan.config import resolve_weights, validate
from lit_core.gan.models import build_discriminator, build_generator, conv_layers
from lit_core.gan.teacher_files import load_teacher


def test_gan_cpu_preset_is_valid_and_its_shipped_teacher_loads():
    cfg, _ = load_preset("gan-cpu")
    validate(cfg)
    assert cfg["task"] == "gan"
    path = resolve_weights(cfg["teacher_ckpt"])
    assert path is not None and path.is_file(), "the gan-cpu teacher file is not shipped"
    models = cfg["models"]

    class _Fashion:  # the shapes the preset's data has: 10 domains, 1×32×32
        c_dim, in_chans, image_size = 10, 1, cfg["data"]["image_size"]

    g = build_generator(models, _Fashion, models["teacher_blocks"])
    d = build_discriminator(models, _Fashion)
    meta = load_teacher(path, g, d)
    assert meta["has_d"] and conv_layers(g) == 18
    assert resolve_weights(cfg["eval"]["classifier_ckpt"]).is_file()
