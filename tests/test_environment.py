"""Tests for utils.environment: the tested range, the version check, TPU detection, Drive, mode."""

import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tools.colab_requirements import COLAB_FREEZE, pinned_versions
from utils import config, environment

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED = {"python": "3.12.1", "tensorflow": "2.20.0", "keras": "3.13.2", "numpy": "2.1.3"}


def test_the_tested_range_is_read_from_pyproject():
    tested = environment.tested_versions()
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["rnn-course"]
    assert set(tested) == set(environment.CHECKED)
    assert all(tested[name] == SpecifierSet(table["tested-versions"][name]) for name in tested)


@pytest.mark.parametrize("stack", ["requirements.txt", ".ci/colab-requirements.txt"])
def test_both_stacks_that_ci_tests_lie_inside_the_tested_range(stack):
    pinned = pinned_versions((ROOT / stack).read_text())
    tested = environment.tested_versions()
    for name in environment.CHECKED[1:]:
        assert Version(pinned[name]) in tested[name], (stack, name, pinned[name])


def test_colabs_oldest_runtime_with_tensorflow_is_inside_the_range_readme_supports():
    oldest = COLAB_FREEZE.with_name("2026.04-gpu-pip-freeze.txt")
    if not oldest.is_file():
        pytest.skip(f"no copy of Colab's 2026.04 package list at {oldest}")
    pinned = pinned_versions(oldest.read_text())
    tested = environment.tested_versions()
    assert all(Version(pinned[name]) in tested[name] for name in environment.CHECKED[1:])
    assert Version("3.12.13") in tested["python"]


def test_the_python_versions_ci_uses_lie_inside_the_tested_range():
    tested = environment.tested_versions()["python"]
    assert Version("3.11.7") in tested and Version("3.13.0") in tested  # pinned and Colab stacks
    assert Version("3.11.3") not in tested  # tarfile's extraction filters came in 3.11.4
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires) == SpecifierSet(">=3.11.4")


def test_versions_inside_the_range_pass_silently(capsys):
    check = environment.require_supported_versions(SUPPORTED, environment.tested_versions())
    assert check == environment.VersionCheck((), ())
    assert capsys.readouterr().out == ""


def test_an_older_tensorflow_is_refused_with_what_to_change():
    old = {**SUPPORTED, "tensorflow": "2.18.1"}
    with pytest.raises(environment.UnsupportedEnvironmentError) as refused:
        environment.require_supported_versions(old, environment.tested_versions())
    message = str(refused.value)
    assert "TensorFlow 2.18.1 is older than the versions tested (<2.22,>=2.19)" in message
    assert "Runtime > Change runtime type" in message and "requirements.txt" in message


def test_a_missing_tensorflow_on_a_tpu_runtime_says_to_switch_to_a_gpu():
    without = {**SUPPORTED, "tensorflow": None}
    with pytest.raises(environment.UnsupportedEnvironmentError, match="TPU runtime \\(v5e-1\\)"):
        environment.require_supported_versions(without, environment.tested_versions(), "v5e-1")
    check = environment.check_versions(without, environment.tested_versions())
    assert check.errors == (
        "TensorFlow is not installed (the course tests TensorFlow <2.22,>=2.19).",
    )


def test_newer_versions_only_warn(capsys):
    newer = {**SUPPORTED, "keras": "3.16.0", "python": "3.14.1"}
    check = environment.require_supported_versions(newer, environment.tested_versions())
    assert check.errors == () and len(check.warnings) == 2
    printed = capsys.readouterr().out
    assert "Note: Keras 3.16.0 is newer than the versions tested (<3.16,>=3.13)" in printed
    assert "Python 3.14.1 is newer" in printed


def test_an_old_python_and_an_old_numpy_are_both_named():
    old = {**SUPPORTED, "python": "3.11.2", "numpy": "1.26.4"}
    check = environment.check_versions(old, environment.tested_versions())
    assert [error.split(" is ")[0] for error in check.errors] == ["Python 3.11.2", "NumPy 1.26.4"]


def test_installed_versions_are_the_packages_own():
    found = environment.installed_versions()
    assert set(found) == set(environment.CHECKED)
    import keras
    import numpy

    assert found["keras"] == keras.__version__ and found["numpy"] == numpy.__version__


@pytest.mark.parametrize(
    "environ, devices, expected",
    [
        ({"COLAB_TPU_1VM": "1", "TPU_ACCELERATOR_TYPE": "v5e-1"}, [], "v5e-1"),
        ({"COLAB_TPU_1VM": "1"}, [], "TPU"),
        ({"COLAB_TPU_ADDR": "10.0.0.2:8470"}, [], "TPU"),  # the retired TPU nodes
        ({}, ["accel0"], "TPU"),
        ({"COLAB_TPU_1VM": ""}, ["nvidia0", "accelerometer"], None),  # a Colab GPU runtime
    ],
)
def test_tpu_runtimes_are_recognised_by_their_variables_or_devices(
    tmp_path, environ, devices, expected
):
    for device in devices:
        (tmp_path / device).touch()
    assert environment.tpu_runtime(environ, str(tmp_path)) == expected


def test_keep_data_in_drive_mounts_and_points_the_loaders_there(tmp_path, monkeypatch):
    from utils import data

    monkeypatch.delenv("RNN_DATA_DIR", raising=False)
    mounted = []
    folder = environment.keep_data_in_drive(mounted.append, tmp_path / "MyDrive" / "course")
    assert mounted == ["/content/drive"] and folder.is_dir()
    assert data.data_dirs()[0] == folder and data.download_dir() == folder


def test_start_notebook_switches_quick_mode_on_and_prints_the_report(monkeypatch, capsys):
    monkeypatch.setattr(config, "gpu_names", lambda: [])
    monkeypatch.delenv("RNN_QUICK", raising=False)
    assert environment.start_notebook().mode == "full"
    monkeypatch.delenv("RNN_QUICK", raising=False)
    run = environment.start_notebook(quick=True, data_in_drive=True)
    assert run.mode == "quick"
    printed = capsys.readouterr().out
    assert "quick mode (RNN_QUICK=1)" in printed and config.NO_GPU_ADVICE in printed
    assert "DATA_IN_DRIVE applies on Colab only" in printed


def test_start_notebook_leaves_the_environments_mode_alone_when_not_asked(monkeypatch):
    monkeypatch.setattr(config, "gpu_names", lambda: [])
    monkeypatch.setenv("RNN_QUICK", "1")  # as CI sets it
    assert environment.start_notebook(quick=False).mode == "quick"


def test_on_colab_start_notebook_installs_only_the_extras_and_mounts_drive(
    tmp_path, monkeypatch, capsys
):
    import sys
    import types

    mounted, installed = [], []
    drive = types.SimpleNamespace(mount=mounted.append)
    colab = types.ModuleType("google.colab")
    colab.drive = drive
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.drive", drive)
    monkeypatch.setattr(environment.subprocess, "run", lambda args, check: installed.append(args))
    monkeypatch.setattr(environment.keep_data_in_drive, "__defaults__", (tmp_path / "d",))
    monkeypatch.setattr(config, "gpu_names", lambda: ["Tesla T4"])
    monkeypatch.delenv("RNN_DATA_DIR", raising=False)
    environment.start_notebook(data_in_drive=True, colab_extras=["sacrebleu==2.5.1"])
    assert installed == [[sys.executable, "-m", "pip", "install", "-q", "sacrebleu==2.5.1"]]
    assert mounted == ["/content/drive"]
    printed = capsys.readouterr().out
    assert f"Data folder: {tmp_path / 'd'}" in printed and "GPU: Tesla T4" in printed
    assert config.NO_GPU_ADVICE not in printed


def test_on_a_tpu_runtime_with_tensorflow_the_notebook_says_it_runs_on_the_cpu(monkeypatch, capsys):
    monkeypatch.setattr(config, "gpu_names", lambda: [])
    monkeypatch.setattr(environment, "tpu_runtime", lambda: "v6e-1")
    environment.start_notebook()
    printed = capsys.readouterr().out
    assert config.NO_GPU_ADVICE in printed and "TPU runtime (v6e-1)" in printed
