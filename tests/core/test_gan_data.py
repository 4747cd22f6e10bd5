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


def test_a_celeba_image_huge_when_decoded_is_refused_from_its_header(tmp_path, monkeypatch):
    """A one-colour 2000×2000 image is a few kB on disk and 12 MB decoded as RGB: every image's
    header is checked against the data memory budget before any image is decoded."""
    _celeba(tmp_path)
    big = tmp_path / "images" / "000004.jpg"
    Image.new("RGB", (2000, 2000), (90, 30, 200)).save(big)
    assert big.stat().st_size < 100_000
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.005")
    with pytest.raises(DataError, match=r"^CelebA image .*000004\.jpg \(2000×2000 pixels\) needs "
                                        r"12 MB of memory, more than the data memory budget of "
                                        r"5 MB; use smaller images, or raise the budget with "
                                        r"LIT_DATA_MEMORY_GB"):
        load_celeba(tmp_path, image_size=8, crop_size=16, test_count=2)
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.05")  # raised: the same folder loads
    data = load_celeba(tmp_path, image_size=8, crop_size=16, test_count=2)
    assert len(data.train) + len(data.test) == 6


def test_a_celeba_image_above_pils_warning_threshold_gets_only_our_budget_error(tmp_path, monkeypatch):
    """A 90-megapixel PNG (PIL warns above 89.5 MP) is refused by the budget alone: PIL's
    DecompressionBombWarning does not come before our line."""
    import warnings

    _celeba(tmp_path)
    Image.new("L", (10_000, 9_000)).save(tmp_path / "images" / "000002.jpg", format="PNG")
    assert Image.MAX_IMAGE_PIXELS < 10_000 * 9_000 < 2 * Image.MAX_IMAGE_PIXELS
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.05")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError, match=r"000002\.jpg \(10000×9000 pixels\) needs 270 MB"):
            load_celeba(tmp_path, image_size=8, crop_size=16, test_count=2)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_a_truncated_celeba_image_is_one_error_naming_it(tmp_path):
    _celeba(tmp_path)
    path = tmp_path / "images" / "000003.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (24, 20, 3), dtype=np.uint8)).save(
        path, format="PNG")
    path.write_bytes(path.read_bytes()[:700])  # the header reads, the pixels do not
    with pytest.raises(DataError, match=r"cannot read .*000003\.jpg \(OSError"):
        load_celeba(tmp_path, image_size=8, crop_size=16, test_count=2)


def test_lit_run_refuses_a_huge_celeba_image_in_one_line_and_creates_nothing(tmp_path, capsys,
                                                                             monkeypatch):
    from gan_tiny import MODELS, discriminator, generator

    from lit_core.cli import main
    from lit_core.gan.teacher_files import save_teacher

    data = tmp_path / "celeba"
    _celeba(data)
    small = load_celeba(data, image_size=8, crop_size=16, test_count=2)
    save_teacher(generator(small, [2]), discriminator(small), tmp_path / "teacher.ckpt",
                 models={**MODELS, "teacher_blocks": [2]}, meta={})
    Image.new("RGB", (2000, 2000)).save(data / "images" / "000005.jpg")
    lines = ['task = "gan"', f'teacher_ckpt = "{tmp_path / "teacher.ckpt"}"', "[data]",
             'name = "celeba"', f'data_dir = "{data}"', "image_size = 8", "crop_size = 16",
             "test_count = 2", "[models]", *[f"{k} = {v}" for k, v in MODELS.items()],
             "teacher_blocks = [2]", "student_blocks = [1]", 'sections = ["stages.0"]']
    (tmp_path / "tiny.toml").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.005")
    code = main(["run", "--config", str(tmp_path / "tiny.toml"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("lit: error: CelebA image "), err
    assert "000005.jpg (2000×2000 pixels) needs 12 MB of memory" in err[0]
    assert not (tmp_path / "out").exists()


def test_celeba_tensors_that_do_not_fit_the_budget_are_refused_before_reading(tmp_path, monkeypatch):
    """Six small images at image_size 64 are 6×3×64×64 float32 (295 kB), held twice while stacked."""
    _celeba(tmp_path)
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.0005")
    with pytest.raises(DataError, match=r"^CelebA in .* \(6 images of 3×64×64 float32\) needs 590 kB "
                                        r"of memory, more than the data memory budget of 500 kB; "
                                        r"lower data.limit or data.image_size, or raise"):
        load_celeba(tmp_path, image_size=64, crop_size=16, test_count=2)
    assert len(load_celeba(tmp_path, image_size=32, crop_size=16, test_count=2).train) == 4
