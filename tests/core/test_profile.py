"""``lit_core.models.profile``: parameters, MACs and conv-layer counts checked against hand counts."""

from __future__ import annotations

import torch.nn as nn

from lit_core.models.profile import count_conv_layers, count_macs, count_params, profile_model


def test_macs_of_a_conv_layer_by_hand():
    # 3→8 channels, 3×3 kernel, stride 1, padding 1 on 10×10: every one of the 8×10×10 outputs
    # is a sum of 3×3×3 products.
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert count_macs(conv, (3, 10, 10)) == 8 * 10 * 10 * 3 * 3 * 3


def test_macs_of_strided_grouped_conv_and_linear_by_hand():
    # stride 2, no padding on 9×9 → 4×4 outputs; 2 groups of 4 in-channels each; then 64→5 FC
    net = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, groups=2, bias=False), nn.BatchNorm2d(16),
                        nn.ReLU(), nn.Flatten(), nn.Linear(16 * 4 * 4, 5))
    expected = 16 * 4 * 4 * (8 // 2) * 3 * 3 + 256 * 5
    assert count_macs(net, (8, 9, 9)) == expected


def test_profile_counts_params_and_convs():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1),
                        nn.ConvTranspose2d(2, 2, 2), nn.Flatten(), nn.Linear(2 * 5 * 5, 3))
    p = profile_model(net, (1, 6, 6))  # 6×6 → 4×4 → 4×4 → 5×5
    assert p.conv_layers == 3 == count_conv_layers(net) and p.depth == 4
    hand = 4 * 9 + 2 * 4 + (4 * 2 + 2) + (2 * 2 * 4 + 2) + (2 * 5 * 5 * 3 + 3)
    assert p.params == hand == count_params(net)
    assert p.to_dict()["input_shape"] == (1, 6, 6)


def test_count_params_trainable_only():
    net = nn.Linear(4, 3)
    net.bias.requires_grad_(False)
    assert count_params(net, trainable_only=True) == 12 and count_params(net) == 15


def test_profile_leaves_training_mode_alone():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    net.train()
    count_macs(net, (1, 5, 5))
    assert net.training and net[1].num_batches_tracked.item() == 0
