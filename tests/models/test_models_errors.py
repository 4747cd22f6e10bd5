"""Bad input gets one clear ValueError that names what is wrong."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import lit_models


def test_unknown_model_name_lists_closest_names():
    with pytest.raises(ValueError, match=r"unknown model 'resnet21'.*resnet20"):
        lit_models.create_model("resnet21")


def test_cifar_resnet_depth_not_6n_plus_2_names_rule_and_value():
    with pytest.raises(ValueError, match=r"6n\+2.*got 21"):
        lit_models.create_model("cifar_resnet", depth=21)


def test_resnext_depth_not_9n_plus_2_names_rule_and_value():
    with pytest.raises(ValueError, match=r"9n\+2.*got 30"):
        lit_models.create_model("cifar_resnext", depth=30)


def test_vdcnn_depth_must_be_a_published_one():
    with pytest.raises(ValueError, match=r"\[9, 17, 29, 49\]; got 10"):
        lit_models.create_model("vdcnn", depth=10)


def test_vdcnn_pool_must_be_max_or_kmax():
    with pytest.raises(ValueError, match="'max' or 'kmax'"):
        lit_models.create_model("vdcnn9", pool="avg")


def test_duplicate_registration_raises_and_keeps_the_original():
    original = lit_models.create_model("resnet20")

    def resnet20(**kwargs):
        return nn.Linear(1, 1)

    with pytest.raises(ValueError, match="'resnet20' is already registered"):
        lit_models.register_model(resnet20)
    assert type(lit_models.create_model("resnet20")) is type(original)


def test_as_staged_with_missing_module_lists_top_level_children():
    model = nn.Sequential()
    model.add_module("body", nn.Conv2d(3, 4, 3))
    model.add_module("fc", nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"no module 'bodyy'.*top-level children are: body, fc"):
        lit_models.as_staged(model, stem=[], stages=["bodyy"], head="fc")


def test_tv_resnet_rejects_bad_block_and_layers():
    with pytest.raises(ValueError, match="block must be one of"):
        lit_models.create_model("tv_resnet", block="bottle")
    with pytest.raises(ValueError, match="4 positive block counts"):
        lit_models.create_model("tv_resnet", layers=[2, 2, 2])


def test_stargan_rejects_more_stages_than_blocks_and_bad_sizes():
    with pytest.raises(ValueError, match="num_stages <= num_blocks"):
        lit_models.create_model("stargan_generator", num_blocks=2, num_stages=3)
    with pytest.raises(ValueError, match="multiple of 2\\*\\*repeat_num = 64"):
        lit_models.create_model("stargan_discriminator", img_size=32)


def test_tile_domain_rejects_label_of_wrong_shape():
    with pytest.raises(ValueError, match=r"label must be \(batch, c_dim\)"):
        lit_models.tile_domain(torch.zeros(2, 3, 8, 8), torch.zeros(3, 5))


def test_pretrained_is_accepted_and_says_no_weights_exist():
    assert isinstance(lit_models.create_model("resnet8", pretrained=False), torch.nn.Module)
    with pytest.raises(ValueError, match=r"no pretrained weights exist for 'resnet8'.*lit train-teacher"):
        lit_models.create_model("resnet8", pretrained=True)


def test_every_registered_builder_documents_itself_and_takes_keywords_only():
    import inspect

    from lit_models._registry import _REGISTRY

    for name in lit_models.list_models():
        fn = _REGISTRY.get(name)
        assert (fn.__doc__ or "").strip(), name
        kinds = {p.kind for p in inspect.signature(fn).parameters.values()}
        assert kinds <= {inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD}, name
