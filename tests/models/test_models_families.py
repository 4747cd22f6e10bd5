"""Family-specific behaviour: torchvision conversion, VDCNN text input, StarGAN, ResNeXt."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torchvision.models as tvm
from torchvision.models.feature_extraction import create_feature_extractor

import lit_models
from lit_models.vdcnn import KMaxPool1d


def test_torchvision_conversion_keeps_torchvisions_output():
    torch.manual_seed(0)
    resnet = tvm.resnet34(weights=None, num_classes=7).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        want = resnet(x)
        staged = lit_models.TorchvisionResNet(resnet, img_size=64).eval()
        torch.testing.assert_close(staged(x), want)
    assert staged.stem[0] is resnet.conv1 and staged.stages[3] is resnet.layer4


def test_torchvision_resnet_accepts_grayscale_and_basic_blocks():
    model = lit_models.create_model("tv_resnet", block="basic", layers=[1, 1, 1, 1], in_chans=1,
                                    num_classes=3, img_size=32)
    assert model.example_input(2).shape == (2, 1, 32, 32)
    assert model(model.example_input(2)).shape == (2, 3)
    assert [i["num_chs"] for i in model.feature_info] == [64, 128, 256, 512]


def test_encode_text_lowercases_pads_truncates_and_marks_unknown_characters():
    ids = lit_models.encode_text(["Ab é", "abcdef"], seq_len=5)
    a, b, space = (lit_models.ALPHABET.index(c) + 2 for c in "ab ")
    assert ids.dtype == torch.long
    assert ids.tolist() == [[a, b, space, 1, 0], [a, b, b + 1, b + 2, b + 3]]
    # Conneau et al.: 67 characters + padding + unknown = 69 token ids
    assert len(lit_models.ALPHABET) == 67 and len(set(lit_models.ALPHABET)) == 67


def test_kmax_pooling_keeps_the_k_largest_in_original_order():
    x = torch.tensor([[[1.0, 5.0, 2.0, 4.0, 3.0]]])
    assert KMaxPool1d(3)(x).tolist() == [[[5.0, 4.0, 3.0]]]
    assert KMaxPool1d(None)(x).shape[-1] == 3  # ceil(5 / 2): same length as the max-pool variant


def test_vdcnn_padding_characters_embed_to_zero():
    model = lit_models.create_model("vdcnn9", seq_len=64)
    assert torch.equal(model.stem.embed.weight[0], torch.zeros(16))
    assert model.stem.embed.num_embeddings == 69


def test_tile_domain_appends_the_label_as_constant_maps():
    image = torch.randn(2, 3, 4, 4)
    label = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    out = lit_models.tile_domain(image, label)
    assert out.shape == (2, 5, 4, 4)
    assert torch.equal(out[:, :3], image)
    assert torch.equal(out[:, 3:], label[:, :, None, None].expand(2, 2, 4, 4))


def test_stargan_generator_splits_blocks_evenly_over_stages():
    def split(**kw):
        model = lit_models.create_model("stargan_generator", img_size=32, **kw)
        return [len(s) for s in model.stages]

    assert split(num_blocks=6) == [3, 3]
    assert split(num_blocks=2) == [1, 1]
    assert split(num_blocks=5, num_stages=3) == [2, 2, 1]


def test_stargan_generator_translates_image_to_same_size_in_tanh_range():
    model = lit_models.create_model("stargan_generator", img_size=32, num_blocks=2)
    assert model.input_size == (8, 32, 32)  # 3 image channels + 5 domain labels
    x = lit_models.tile_domain(torch.randn(2, 3, 32, 32), torch.eye(5)[:2])
    y = model(x)
    assert y.shape == (2, 3, 32, 32) and y.abs().max() <= 1
    norms = [m for m in model.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(m.affine for m in norms)


def test_stargan_discriminator_returns_patch_map_and_domain_logits():
    model = lit_models.create_model("stargan_discriminator", img_size=64, c_dim=4)
    src, cls = model(model.example_input(2))
    assert src.shape == (2, 1, 1, 1) and cls.shape == (2, 4)
    assert lit_models.create_model("stargan_generator").input_size == (8, 128, 128)


def test_resnext_groups_follow_cardinality_and_stage_width_does_not():
    c16 = lit_models.create_model("resnext20_16x4d")
    c32 = lit_models.create_model("resnext20_32x4d")
    assert c16.stages[0][0].conv2.groups == 16 and c32.stages[0][0].conv2.groups == 32
    assert c16.stages[2][0].conv2.in_channels == 16 * 4 * 4  # cardinality x width x 2^stage
    assert [i["num_chs"] for i in c16.feature_info] == [256, 512, 1024]
    assert c16.feature_info == c32.feature_info


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("resnet20", {}), ("resnext20_16x4d", {"img_size": 8}), ("vdcnn9", {"seq_len": 64, "pool": "kmax"}),
     ("stargan_generator", {"img_size": 32}), ("stargan_discriminator", {"img_size": 64}),
     ("resnet18", {"img_size": 32})],
)
def test_torchvision_feature_extractor_addresses_the_same_stage_names(name, kwargs):
    model = lit_models.create_model(name, **kwargs).eval()
    nodes = [info["module"] for info in model.feature_info]
    extractor = create_feature_extractor(model, return_nodes=nodes)
    x = model.example_input(2)
    with torch.no_grad():
        got = list(extractor(x).values())
        want = model.forward_stages(x)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)
