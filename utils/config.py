"""Run configuration shared by every notebook: quick or full mode, seeding, environment report.

Full mode is what a learner runs. Quick mode (``RNN_QUICK=1``) uses less data and fewer epochs so
that CI can execute every cell of every notebook in minutes; it goes through the same code path.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

QUICK_ENV_VAR = "RNN_QUICK"
_TRUE_VALUES = {"1", "true", "yes", "on"}
_FALSE_VALUES = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class RunConfig:
    """Which mode the notebooks run in.

    Notebooks read every size that differs between the modes through :meth:`pick`, so the two
    modes can never drift into different code paths.
    """

    quick: bool

    @property
    def mode(self) -> str:
        """``"quick"`` or ``"full"``."""
        return "quick" if self.quick else "full"

    def pick(self, full: T, quick: T) -> T:
        """Return ``quick`` in quick mode and ``full`` otherwise."""
        return quick if self.quick else full


def get_config() -> RunConfig:
    """Read ``RNN_QUICK`` from the environment (unset or ``0`` means full mode).

    Raises:
        ValueError: if ``RNN_QUICK`` holds something other than a yes/no value, so that a typo
            never silently starts a 45-minute full run.
    """
    raw = os.environ.get(QUICK_ENV_VAR, "").strip().lower()
    if raw in _TRUE_VALUES:
        return RunConfig(quick=True)
    if raw in _FALSE_VALUES:
        return RunConfig(quick=False)
    raise ValueError(
        f"{QUICK_ENV_VAR}={os.environ[QUICK_ENV_VAR]!r} is not understood: "
        f"use {QUICK_ENV_VAR}=1 for quick mode, or unset it (or {QUICK_ENV_VAR}=0) for full mode."
    )


def seed_everything(seed: int = 42) -> None:
    """Seed Python's ``random``, NumPy and the Keras backend in one call.

    Results on a GPU can still differ slightly between runs (cuDNN kernels are not bitwise
    deterministic); notebook 10 discusses the cost of full determinism.
    """
    import keras

    keras.utils.set_random_seed(seed)


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration of the block.

    TensorFlow's C++ runtime prints start-up lines (oneDNN notices, CUDA probing) straight to
    the process's stderr while it loads, before ``TF_CPP_MIN_LOG_LEVEL`` can take effect; in a
    notebook they would clutter the first cell's output. Python exceptions are unaffected.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def gpu_names() -> list[str]:
    """Names of the GPUs TensorFlow can see (empty on a CPU-only machine)."""
    with _native_stderr_silenced():
        import tensorflow as tf

        devices = tf.config.list_physical_devices("GPU")
    names = []
    for device in devices:
        details = tf.config.experimental.get_device_details(device)
        names.append(details.get("device_name", device.name))
    return names


def hardware_description() -> str:
    """``"GPU (name)"`` or ``"CPU only (N cores)"``: what trained the models, for captions."""
    gpus = gpu_names()
    return f"GPU ({', '.join(gpus)})" if gpus else f"CPU only ({os.cpu_count()} cores)"


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The processor's model name, or ``""`` where the system does not say.

    Stored outputs name it because float results can differ between processor families (the
    CPU kernels differ), so a number that does not reproduce may just come from another CPU.
    """
    try:
        with open(cpuinfo, encoding="utf-8") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return platform.processor()


def instruction_set(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The widest x86 vector instructions the processor offers (``"AVX-512"``, ``"AVX2"``,
    ``"AVX"``), or ``""`` where the system does not say (not Linux, or not x86).

    This, more than the processor's name, decides the float path: oneDNN and Eigen pick
    AVX-512 or AVX2 kernels at run time, which sum in different orders, so a run on an AVX2
    machine drifts from a stored AVX-512 run from the first epoch's fourth decimal on.
    """
    try:
        with open(cpuinfo, encoding="utf-8") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == "flags":
                    flags = set(value.split())
                    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX")):
                        if flag in flags:
                            return name
                    return ""
    except OSError:
        pass
    return ""


def environment_report(config: RunConfig | None = None) -> str:
    """One line naming TensorFlow and Keras versions, the hardware and the run mode.

    Every notebook prints it near the top, so its stored outputs say what produced them; on a
    CPU it names the instruction set, since the same numbers repeat only on the same one.
    """
    gpus = gpu_names()  # first: it imports TensorFlow quietly
    import keras
    import tensorflow as tf

    config = config or get_config()
    processor = ", ".join(filter(None, [f"{os.cpu_count()} cores", cpu_model(), instruction_set()]))
    hardware = f"GPU: {', '.join(gpus)}" if gpus else f"CPU only ({processor})"
    mode = f"{config.mode} mode" + (f" ({QUICK_ENV_VAR}=1)" if config.quick else "")
    return (
        f"TensorFlow {tf.__version__} · Keras {keras.__version__} · "
        f"Python {platform.python_version()} · {hardware} · {mode}"
    )


NO_GPU_ADVICE = (
    "No GPU found: everything still runs, only slower. On Colab, choose "
    "Runtime > Change runtime type > T4 GPU (or better), then Runtime > Run all."
)


def print_environment_report(config: RunConfig | None = None) -> None:
    """Print :func:`environment_report`, and how to switch a GPU on when none is found."""
    print(environment_report(config))
    if not gpu_names():
        print(NO_GPU_ADVICE)


def run_summary(start_time: float, config: RunConfig | None = None) -> str:
    """The closing line of every notebook: mode, hardware and wall time since ``start_time``.

    ``start_time`` is a ``time.perf_counter()`` reading taken in the notebook's set-up cell,
    so the stored output states what produced it and how long it took.
    """
    import time

    config = config or get_config()
    hardware = hardware_description()
    minutes, seconds = divmod(round(time.perf_counter() - start_time), 60)  # never "60 s"
    elapsed = f"{minutes} min {seconds} s"
    return f"Executed top to bottom in {config.mode} mode on {hardware} in {elapsed}."
