"""What a notebook runs on: the versions it finds, the accelerator, Colab's Drive, the mode.

Every notebook's set-up cell ends with :func:`start_notebook`. Before TensorFlow is imported it
compares the Python, TensorFlow, Keras and NumPy versions it finds with the range the project
tests, which ``pyproject.toml`` states once (``[tool.rnn-course.tested-versions]``): older ones
are refused with a message that says what to change, newer ones get a warning. It then switches
quick mode on if the learner asked for it, installs on Colab the few packages Colab lacks, keeps
the data in Google Drive if asked, and prints the environment report, which says when no GPU is
on. Only what must run before ``utils`` can be imported (fetching the repository) stays in the
cell itself.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from utils.config import QUICK_ENV_VAR, RunConfig, get_config, print_environment_report

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
DRIVE_MOUNT_POINT = Path("/content/drive")
DRIVE_DATA_FOLDER = DRIVE_MOUNT_POINT / "MyDrive" / "rnn-course-data"
CHECKED = ("python", "tensorflow", "keras", "numpy")  # the versions the set-up cell checks
NAMES = {"python": "Python", "tensorflow": "TensorFlow", "keras": "Keras", "numpy": "NumPy"}

ON_COLAB = (
    "On Colab: Runtime > Change runtime type, choose a GPU (T4 or better) and the latest "
    "runtime version, then Runtime > Run all."
)
ELSEWHERE = (
    "Elsewhere: create a virtual environment and run `pip install -r requirements.txt` "
    "(the versions CI tests)."
)


class UnsupportedEnvironmentError(RuntimeError):
    """A version older than the project tests, or no TensorFlow at all: the notebook would fail
    part-way, so the set-up cell stops first and says what to change."""


def tested_versions(pyproject: Path = PYPROJECT) -> dict[str, SpecifierSet]:
    """The tested range of each checked package, from ``[tool.rnn-course.tested-versions]``."""
    if sys.version_info < (3, 11):  # noqa: UP036 (a learner may run an old Python: say so)
        raise UnsupportedEnvironmentError(
            f"Python {platform.python_version()} is older than the versions tested (>=3.11.4). "
            f"{ON_COLAB} {ELSEWHERE}"
        )
    import tomllib

    with open(pyproject, "rb") as file:
        table = tomllib.load(file)["tool"]["rnn-course"]["tested-versions"]
    return {name: SpecifierSet(table[name]) for name in CHECKED}


def installed_versions() -> dict[str, str | None]:
    """The Python version and each checked package's installed version (``None``: missing).

    Read from the packages' metadata, so nothing is imported: the check runs before TensorFlow
    loads, and so can explain a TensorFlow that is missing or too old instead of crashing on it.
    """
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in CHECKED[1:]:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


@dataclass(frozen=True)
class VersionCheck:
    """What :func:`check_versions` found: problems that stop the notebook, and warnings."""

    errors: tuple[str, ...]
    warnings: tuple[str, ...]


def check_versions(
    found: Mapping[str, str | None], tested: Mapping[str, SpecifierSet]
) -> VersionCheck:
    """Compare ``found`` versions with the ``tested`` ranges.

    A missing package or a version below its range is an error (the course uses APIs that older
    releases lack or behave differently in); a version above it is a warning (probably fine, but
    no CI run has tried it).
    """
    errors, warnings = [], []
    for name in CHECKED:
        label, allowed, version = NAMES[name], tested[name], found.get(name)
        if version is None:
            errors.append(f"{label} is not installed (the course tests {label} {allowed}).")
        elif Version(version) in allowed:
            continue
        elif any(
            Version(version) < Version(spec.version) for spec in allowed if ">" in spec.operator
        ):
            errors.append(f"{label} {version} is older than the versions tested ({allowed}).")
        else:
            warnings.append(
                f"{label} {version} is newer than the versions tested ({allowed}); if a cell "
                "fails, install requirements.txt's versions."
            )
    return VersionCheck(tuple(errors), tuple(warnings))


def tpu_runtime(environ: Mapping[str, str] = os.environ, devices: str = "/dev") -> str | None:
    """The TPU type when this is a TPU machine (``"v5e-1"``, or ``"TPU"`` if it does not say).

    Colab's current TPU runtimes are TPU VMs: they set ``COLAB_TPU_1VM=1`` and
    ``TPU_ACCELERATOR_TYPE``, and older TPU chips show as ``/dev/accel*`` devices;
    ``COLAB_TPU_ADDR``, which older checks read, belonged to the retired TPU nodes.
    """
    if environ.get("TPU_ACCELERATOR_TYPE"):
        return environ["TPU_ACCELERATOR_TYPE"]
    if environ.get("COLAB_TPU_1VM") == "1" or environ.get("COLAB_TPU_ADDR"):
        return "TPU"
    folder = Path(devices)
    if any(folder.glob("accel[0-9]*")):
        return "TPU"
    return None


def require_supported_versions(
    found: Mapping[str, str | None] | None = None,
    tested: Mapping[str, SpecifierSet] | None = None,
    tpu: str | None = None,
) -> VersionCheck:
    """Raise :class:`UnsupportedEnvironmentError` on any error of :func:`check_versions`, with
    what to do; print its warnings; return the check."""
    check = check_versions(found or installed_versions(), tested or tested_versions())
    if check.errors:
        advice = [ON_COLAB, ELSEWHERE]
        if tpu:
            advice.insert(
                0,
                f"This is a TPU runtime ({tpu}). Colab's TPU runtimes come without TensorFlow, "
                "and this course is written for GPUs (cuDNN kernels).",
            )
        raise UnsupportedEnvironmentError(" ".join([*check.errors, *advice]))
    for warning in check.warnings:
        print(f"Note: {warning}")
    return check


def keep_data_in_drive(mount: Callable[[str], None], folder: Path = DRIVE_DATA_FOLDER) -> Path:
    """Mount Google Drive with ``mount`` and make ``folder`` the data folder (``RNN_DATA_DIR``).

    ``utils.data`` looks for the archives there first and downloads missing ones into it, so a
    new Colab session finds IMDB (84 MB) and the rest without downloading them again.
    """
    mount(str(DRIVE_MOUNT_POINT))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["RNN_DATA_DIR"] = str(folder)
    return folder


def on_colab() -> bool:
    """Whether this kernel runs on Google Colab."""
    return "google.colab" in sys.modules


def start_notebook(
    quick: bool = False, data_in_drive: bool = False, colab_extras: Sequence[str] = ()
) -> RunConfig:
    """Everything a notebook's set-up cell does once ``utils`` can be imported.

    Args:
        quick: run in quick mode (``RNN_QUICK=1``): less data, fewer epochs, the same code.
            ``False`` leaves ``RNN_QUICK`` as the environment sets it (CI sets it to 1).
        data_in_drive: on Colab, keep the downloaded data in Google Drive
            (:func:`keep_data_in_drive`); elsewhere point ``RNN_DATA_DIR`` at a folder instead.
        colab_extras: pinned packages that Colab lacks (sacrebleu), installed there only; never
            TensorFlow or Keras, whose GPU builds Colab provides.

    Returns:
        The run configuration, after printing the environment report.

    Raises:
        UnsupportedEnvironmentError: a checked version is missing or older than the tested range.
    """
    tpu = tpu_runtime()
    require_supported_versions(tpu=tpu)
    if quick:
        os.environ[QUICK_ENV_VAR] = "1"
    if on_colab():
        if colab_extras:
            pip = [sys.executable, "-m", "pip", "install", "-q", *colab_extras]
            subprocess.run(pip, check=True)
        if data_in_drive:
            from google.colab import drive

            print(f"Data folder: {keep_data_in_drive(drive.mount)}")
    elif data_in_drive:
        print("DATA_IN_DRIVE applies on Colab only; here, set RNN_DATA_DIR to a folder instead.")
    config = get_config()
    print_environment_report(config)
    if tpu:
        print(
            f"This is a TPU runtime ({tpu}): the notebooks do not use TPUs, so they run on its CPU."
        )
    return config
