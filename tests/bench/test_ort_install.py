"""The bench session's ONNX Runtime install: exactly one of onnxruntime/onnxruntime-gpu, whole, every run."""

from __future__ import annotations

import pytest

from lit_bench.ort_install import installed_ort, main, repair_steps


def _fake_dist(site, name: str, version: str = "1.20.0") -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_both_packages_installed_is_detected(tmp_path):
    # what the old session left on its second run: the CPU package reinstalled over the GPU one
    _fake_dist(tmp_path, "onnxruntime")
    _fake_dist(tmp_path, "onnxruntime-gpu")
    _fake_dist(tmp_path, "onnx")
    assert installed_ort([str(tmp_path)]) == {"onnxruntime", "onnxruntime-gpu"}


def test_repair_removes_the_other_package_and_restores_the_shared_files():
    assert repair_steps("onnxruntime-gpu", {"onnxruntime", "onnxruntime-gpu"}) == [
        ["uninstall", "-y", "onnxruntime"],
        ["install", "--force-reinstall", "--no-deps", "onnxruntime-gpu"],
    ]
    assert repair_steps("onnxruntime", {"onnxruntime-gpu"}) == [
        ["uninstall", "-y", "onnxruntime-gpu"],
        ["install", "--force-reinstall", "--no-deps", "onnxruntime"],
    ]


def test_repair_is_idempotent_once_the_environment_is_right():
    for want in ("onnxruntime", "onnxruntime-gpu"):
        first = repair_steps(want, {"onnxruntime", "onnxruntime-gpu"})
        assert first and repair_steps(want, {want}) == []  # the second session run changes nothing
    with pytest.raises(ValueError, match="unknown ONNX Runtime package 'ort'"):
        repair_steps("ort", set())


def test_this_environment_needs_no_repair_and_its_runtime_imports(capsys):
    installed = installed_ort()
    want = "onnxruntime-gpu" if "onnxruntime-gpu" in installed else "onnxruntime"
    assert installed == {want}
    assert main(["--want", want]) == 0
    assert f"{want} is the only ONNX Runtime installed and imports cleanly" in capsys.readouterr().out


def _fake_wheel(dist_dir, name: str) -> None:
    """A tiny wheel that installs ``onnxruntime/__init__.py`` as both real ORT packages do."""
    import zipfile

    stem = f"{name.replace('-', '_')}-1.0"
    files = {
        "onnxruntime/__init__.py": f"InferenceSession = 'from {name}'\n",
        **({"onnxruntime/capi/libonnxruntime_providers_cuda.so": "gpu only"} if name.endswith("gpu") else {}),
        f"{stem}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{stem}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{stem}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(dist_dir / f"{stem}-py3-none-any.whl", "w") as whl:
        for path, text in {**files, f"{stem}.dist-info/RECORD": record}.items():
            whl.writestr(path, text)


@pytest.mark.slow
def test_the_repair_steps_fix_a_real_venv_broken_the_way_the_old_session_broke_it(tmp_path):
    import subprocess
    import sys

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in ("onnxruntime", "onnxruntime-gpu"):
        _fake_wheel(wheels, name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    pip = [py, "-m", "pip", "--disable-pip-version-check", "-q"]
    offline = ["--no-index", "--find-links", str(wheels)]

    def content() -> str:
        code = "import onnxruntime as o; print(getattr(o, 'InferenceSession', 'EMPTY'))"
        return subprocess.run([py, "-c", code], capture_output=True, text=True).stdout.strip()

    def site() -> list[str]:
        code = "import site; print(site.getsitepackages()[0])"
        return [subprocess.run([py, "-c", code], capture_output=True, text=True, check=True).stdout.strip()]

    # the old session: GPU package first, then the CPU one reinstalled over it, then the uninstall
    subprocess.run([*pip, "install", *offline, "onnxruntime-gpu"], check=True)
    subprocess.run([*pip, "install", *offline, "onnxruntime"], check=True)
    subprocess.run([*pip, "uninstall", "-y", "onnxruntime"], check=True)
    assert installed_ort(site()) == {"onnxruntime-gpu"} and content() == "EMPTY"  # counted, but empty
    subprocess.run([*pip, "install", *offline, "onnxruntime"], check=True)  # next run's reinstall
    for _ in range(2):  # the session's repair, run twice
        for step in repair_steps("onnxruntime-gpu", installed_ort(site())):
            subprocess.run([*pip, *step, *(offline if step[0] == "install" else [])], check=True)
        assert installed_ort(site()) == {"onnxruntime-gpu"} and content() == "from onnxruntime-gpu"
