"""Tests for utils.config: mode selection, seeding and the environment report."""

import os
import random
import time

import numpy as np
import pytest

from utils import config


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_quick_values_select_quick_mode(monkeypatch, value):
    monkeypatch.setenv("RNN_QUICK", value)
    run = config.get_config()
    assert run.quick and run.mode == "quick"
    assert run.pick(full=10, quick=1) == 1


@pytest.mark.parametrize("value", [None, "", "0", "false", "No"])
def test_unset_or_false_selects_full_mode(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("RNN_QUICK", raising=False)
    else:
        monkeypatch.setenv("RNN_QUICK", value)
    run = config.get_config()
    assert not run.quick and run.mode == "full"
    assert run.pick(full=10, quick=1) == 10


def test_unknown_value_raises_and_says_what_to_use(monkeypatch):
    monkeypatch.setenv("RNN_QUICK", "maybe")
    with pytest.raises(ValueError, match=r"RNN_QUICK='maybe'.*RNN_QUICK=1"):
        config.get_config()


def test_seed_everything_makes_python_numpy_and_keras_repeatable():
    import keras

    def draw():
        config.seed_everything(123)
        return (
            random.random(),
            np.random.rand(),
            keras.ops.convert_to_numpy(keras.random.uniform((3,))),
        )

    first, second = draw(), draw()
    assert first[0] == second[0] and first[1] == second[1]
    np.testing.assert_array_equal(first[2], second[2])
    config.seed_everything(124)
    assert random.random() != first[0]


def test_environment_report_names_versions_hardware_and_mode(monkeypatch):
    import keras
    import tensorflow as tf

    monkeypatch.setattr(config, "gpu_names", lambda: [])
    line = config.environment_report(config.RunConfig(quick=True))
    assert f"TensorFlow {tf.__version__}" in line
    assert f"Keras {keras.__version__}" in line
    assert "CPU only" in line and "quick mode (RNN_QUICK=1)" in line
    monkeypatch.setattr(config, "cpu_model", lambda: "Some CPU 9000")
    monkeypatch.setattr(config, "instruction_set", lambda: "AVX2")
    line = config.environment_report(config.RunConfig(quick=True))
    assert f"CPU only ({os.cpu_count()} cores, Some CPU 9000, AVX2)" in line
    monkeypatch.setattr(config, "gpu_names", lambda: ["Tesla T4"])
    line = config.environment_report(config.RunConfig(quick=False))
    assert "GPU: Tesla T4" in line and "full mode" in line


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx avx2 fma avx512f avx512bw", "AVX-512"),
        ("fpu sse2 avx avx2 fma", "AVX2"),
        ("fpu sse2 avx", "AVX"),
        ("fpu sse2", ""),
    ],
)
def test_instruction_set_names_the_widest_vector_extension(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: {flags}\n")
    assert config.instruction_set(str(cpuinfo)) == expected
    assert config.instruction_set(str(tmp_path / "missing")) == ""


def test_cpu_model_reads_the_model_name_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n")
    assert config.cpu_model(str(cpuinfo)) == "AMD EPYC 7B13"


def test_report_tells_how_to_switch_on_a_gpu_only_when_none_is_found(monkeypatch, capsys):
    monkeypatch.setattr(config, "gpu_names", lambda: [])
    config.print_environment_report(config.RunConfig(quick=False))
    assert "Change runtime type" in capsys.readouterr().out
    monkeypatch.setattr(config, "gpu_names", lambda: ["NVIDIA A100"])
    config.print_environment_report(config.RunConfig(quick=False))
    assert "Change runtime type" not in capsys.readouterr().out


def test_run_summary_states_mode_hardware_and_elapsed_time(monkeypatch):
    monkeypatch.setattr(config, "gpu_names", lambda: [])
    start = time.perf_counter() - 125
    line = config.run_summary(start, config.RunConfig(quick=True))
    assert line.startswith("Executed top to bottom in quick mode on CPU only")
    assert "2 min 5 s" in line


def test_run_summary_rounds_to_whole_seconds_before_counting_minutes(monkeypatch):
    monkeypatch.setattr(config, "gpu_names", lambda: [])
    monkeypatch.setattr(time, "perf_counter", lambda: 1000.0 + 719.6)
    assert config.run_summary(1000.0, config.RunConfig(quick=True)).endswith(" in 12 min 0 s.")


def test_hardware_description_names_the_gpu_or_the_cpu_cores(monkeypatch):
    monkeypatch.setattr(config, "gpu_names", lambda: ["Tesla T4"])
    assert config.hardware_description() == "GPU (Tesla T4)"
    monkeypatch.setattr(config, "gpu_names", lambda: [])
    assert config.hardware_description().startswith("CPU only (")


def test_native_stderr_is_silenced_only_inside_the_block(capfd):
    with config._native_stderr_silenced():
        os.write(2, b"C++ start-up chatter\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_native_stderr_is_restored_when_the_block_raises(capfd):
    with pytest.raises(RuntimeError), config._native_stderr_silenced():
        raise RuntimeError("boom")
    os.write(2, b"still visible\n")
    assert "still visible" in capfd.readouterr().err
