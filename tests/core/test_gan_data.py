"""Multi-domain data: the CelebA layout on a tiny generated folder, class domains, targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lit_core.data import DataError
from lit_core.gan.data import domain_targets, load_celeba, load_domain_data

# CelebA's 40 attributes, in list_attr_celeba.txt's order.
ATTRS = ["5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young"]


def _celeba(root, n=6):
    """A CelebA folder in the official layout: images/000001.jpg … and list_attr_celeba.txt."""
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines, truth = [str(n), " ".join(ATTRS)], {}
    for i in range(1, n + 1):
        name = f"{i:06d}.jpg"
        Image.fromarray(rng.integers(0, 255, (24, 20, 3), dtype=np.uint8)).save(root / "images" / name)
        values = rng.choice(["1", "-1"], size=len(ATTRS))
        truth[name] = values
        lines.append(f"{name} " + " ".join(f"{v:>2}" for v in values))  # the file pads with spaces
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    return truth


def test_celeba_reader_reads_the_papers_five_attributes_and_images(tmp_path):
    _celeba(tmp_path)
    data = load_celeba(tmp_path, image_size=8, crop_size=16, test_count=2)
    assert data.domains == ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
    assert data.kind == "multi" and len(data.train) == 4 and len(data.test) == 2
    assert data.train.images.shape == (4, 3, 8, 8)
    assert data.train.images.min() >= -1 and data.train.images.max() <= 1
    assert set(data.train.labels.unique().tolist()) <= {0.0, 1.0}


def test_celeba_labels_follow_the_attribute_file(tmp_path):
    truth = _celeba(tmp_path, n=3)
    data = load_celeba(tmp_path, selected_attrs=["Male", "Smiling"], image_size=8, crop_size=16,
                       test_count=1)
    rows = {tuple(r.tolist()) for r in torch.cat([data.train.labels, data.test.labels])}
    male, smiling = ATTRS.index("Male"), ATTRS.index("Smiling")
    expected = {(float(v[male] == "1"), float(v[smiling] == "1")) for v in truth.values()}
    assert rows == expected


def test_a_folder_without_domains_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"has no domains: expected list_attr_celeba.txt"):
        load_domain_data({"name": "celeba", "data_dir": str(tmp_path)})
    _celeba(tmp_path)
    with pytest.raises(DataError, match=r"attribute\(s\) Purple_Hair not in the file's header"):
        load_celeba(tmp_path, selected_attrs=["Purple_Hair"], test_count=1)


def test_class_folders_become_single_label_domains(tmp_path):
    for split, n in (("train", 4), ("test", 2)):
        for cls in ("boots", "shirts"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(np.full((8, 8), 60 * i, dtype=np.uint8)).save(tmp_path / split / cls / f"{i}.png")
    data = load_domain_data({"name": "folder", "data_dir": str(tmp_path), "image_size": 12})
    assert data.kind == "single" and data.c_dim == 2 and data.image_size == 12
    assert torch.equal(data.train.labels.sum(0), torch.tensor([4.0, 4.0]))
    assert data.train.images[:, :, 0].eq(-1).all()  # padded with the background value


def test_targets_flip_attributes_and_set_hair_colour_exclusively():
    labels = torch.tensor([[1.0, 0.0, 0.0, 1.0, 0.0]])
    names = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
    t = domain_targets(labels, "multi", names)
    assert t[1].tolist() == [[0.0, 1.0, 0.0, 1.0, 0.0]]  # to blond: other hair colours off
    assert t[3].tolist() == [[1.0, 0.0, 0.0, 0.0, 0.0]]  # gender flipped
    one_hot = domain_targets(torch.eye(3)[[0, 2]], "single", ("a", "b", "c"))
    assert [c.argmax(1).tolist() for c in one_hot] == [[0, 0], [1, 1], [2, 2]]
