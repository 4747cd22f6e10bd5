"""Packaging: one version per package, LICENSE and py.typed in every wheel, metadata for an index,
``lit --version`` / ``--list-presets``, and every dotted API name the READMEs show exists."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lit_core.app.presets import list_presets, load_preset
from lit_core.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"lit-models": "lit_models", "lit-core": "lit_core", "lit-bench": "lit_bench"}
DOCS = [ROOT / "README.md", *sorted(ROOT.glob("packages/*/README.md")), *sorted(ROOT.glob("docs/*.md"))]
DOTTED = re.compile(r"\blit_(?:core|models|bench)(?:\.[A-Za-z_]\w*)+")


def _resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted`` and look the rest up as attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def _readme_names() -> list[str]:
    return sorted({m.group(0) for doc in DOCS for m in DOTTED.finditer(doc.read_text(encoding="utf-8"))})


def test_the_readmes_name_some_api():
    assert {"lit_bench.fuse_model", "lit_models.create_model"} <= set(_readme_names())


@pytest.mark.parametrize("name", _readme_names())
def test_every_dotted_name_the_readmes_show_exists(name):
    _resolve(name)  # ModuleNotFoundError / AttributeError name what is missing


@pytest.mark.parametrize(("dist", "module"), PACKAGES.items())
def test_each_package_has_one_version_source(dist, module):
    project = tomllib.loads((ROOT / "packages" / dist / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == f"{module}.__version__"
    assert importlib.metadata.version(dist) == importlib.import_module(module).__version__


def test_the_packages_move_in_lockstep():
    versions = {importlib.import_module(m).__version__ for m in PACKAGES.values()}
    assert len(versions) == 1, versions


@pytest.mark.parametrize("dist", PACKAGES)
def test_metadata_names_license_classifiers_and_urls(dist):
    project = tomllib.loads((ROOT / "packages" / dist / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "Typing :: Typed" in project["classifiers"]
    assert project["urls"]
    assert (ROOT / "packages" / dist / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_changelog_has_the_current_version():
    version = importlib.import_module("lit_core").__version__
    assert f"## [{version}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize(("dist", "module"), PACKAGES.items())
def test_the_wheel_ships_license_and_py_typed(tmp_path, dist, module):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(ROOT / "packages" / dist)], check=True)
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    version = importlib.import_module(module).__version__
    assert wheel.name.startswith(f"{module}-{version}-")
    assert f"{module}/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert "License-Expression: MIT" in meta and "Classifier: Typing :: Typed" in meta
    assert "Project-URL: " in meta


def test_lit_version_prints_the_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"lit {importlib.import_module('lit_core').__version__} (lit-core)"


def test_list_presets_prints_each_preset_with_its_description(capsys):
    assert main(["--list-presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list_presets()
    for line in lines:
        name, description = line.split(maxsplit=1)
        shipped = load_preset(name)[0]["description"]
        assert description and description in shipped


def test_a_missing_extra_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    for name in ("sklearn", "sklearn.datasets", "sklearn.model_selection"):
        monkeypatch.setitem(sys.modules, name, None)  # import of it now fails, as if not installed
    rc = main(["train-teacher", "--data", "digits", "--out", str(tmp_path), "--run-name", "r"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["lit: error: the digits data set needs 'sklearn', which is not installed; "
                   "install it with: pip install 'lit-core[sklearn]'"]
    assert list(tmp_path.iterdir()) == []
