"""Tests for tools/check_reproducible.py: what counts as a timing, and the check end to end;
and for which notebooks the root conftest.py gives a second run."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from conftest import wants_second_run
from tools import check_reproducible
from tools.check_reproducible import MASK, differences, execute, main, mask_timings, text_outputs


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "188/188 - 10s - 51ms/step - accuracy: 0.6848",
            f"188/188 - {MASK} - {MASK}/step - accuracy: 0.6848",
        ),
        (
            "Executed top to bottom in full mode in 2 min 10 s.",
            f"Executed top to bottom in full mode in {MASK} {MASK}.",
        ),
        (
            "LSTM  4,480 parameters  2.61 s per epoch",
            f"LSTM  4,480 parameters  {MASK} per epoch",
        ),
        (
            "dropout is 1.44x faster than recurrent_dropout",
            f"dropout is {MASK}x faster than recurrent_dropout",
        ),
        (
            "attention, beam 5: BLEU 35.3 (decoding time 108 s)",
            f"attention, beam 5: BLEU 35.3 (decoding time {MASK})",
        ),
        (
            "char_gru: best validation loss 1.5148, test perplexity 5.144, 18.1 s per epoch",
            f"char_gru: best validation loss 1.5148, test perplexity 5.144, {MASK} per epoch",
        ),
        (
            "one step at a time == whole sequence: max |difference| 0.0e+00",
            "one step at a time == whole sequence: max |difference| 0.0e+00",
        ),
        (
            "GRU(dropout=0.2)   median 3.50 s/epoch (runs: 3.50 4.83 5.11)",
            f"GRU(dropout=0.2)   median {MASK}/epoch (runs: {MASK} {MASK} {MASK})",
        ),
        (
            "seconds per epoch: 3.08 default, 3.11 deterministic (1.01x)",
            f"seconds per epoch: {MASK} default, {MASK} deterministic ({MASK}x)",
        ),
        (
            "LSTM x1 -> x3: all parameters x1.05, seconds per epoch x1.82, test accuracy -0.003",
            f"LSTM x1 -> x3: all parameters x1.05, seconds per epoch x{MASK}, test accuracy -0.003",
        ),
        (
            "george held out: validation 1.000 and 0.996, 2.6 and 2.5 s per epoch",
            f"george held out: validation 1.000 and 0.996, {MASK} and {MASK} per epoch",
        ),
        (
            "BiLSTM(32) x2: 12.3 s per training epoch",
            f"BiLSTM(32) x2: {MASK} per training epoch",
        ),
        (
            "the real line is 10^108 times more probable; sometimes the runtime says 3 h",
            f"the real line is 10^108 times more probable; sometimes the runtime says {MASK}",
        ),
        ("   1   h     e    |        0.008", "   1   h     e    |        0.008"),
        ("test accuracy 0.882 after 4 epochs", "test accuracy 0.882 after 4 epochs"),
        (
            "TensorFlow 2.21.0 · CPU only (2 cores, Intel(R) Xeon(R) Processor) · full mode",
            "TensorFlow 2.21.0 · CPU only (<machine>) · full mode",
        ),
        (
            "TensorFlow 2.21.0 · CPU only (2 cores) · full mode",
            "TensorFlow 2.21.0 · CPU only (<machine>) · full mode",
        ),
        ("perplexity 5.144, loss 1.638", "perplexity 5.144, loss 1.638"),
    ],
)
def test_mask_timings_masks_only_numbers_that_report_time(line, expected):
    assert mask_timings(line) == expected


def test_mask_timings_masks_timing_columns_of_tables_only():
    table = (
        "| model | params | seconds_per_epoch | test_accuracy |\n"
        "|---|---:|---:|---:|\n"
        "| LSTM(32) | 328,353 | 12.7 | 0.810 |\n"
        "\n"
        "caption 3 seeds"
    )
    masked = mask_timings(table).splitlines()
    assert masked[0] == "| model | params | seconds_per_epoch | test_accuracy |"
    assert masked[2] == f"| LSTM(32) | 328,353 | {MASK} | 0.810 |"
    assert masked[4] == "caption 3 seeds"


def _notebook(*sources: str, outputs: list[list[dict]] | None = None) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# title")]
    for number, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.from_dict(o) for o in (outputs[number] if outputs else [])]
        notebook.cells.append(cell)
    return notebook


def test_text_outputs_keep_stdout_and_rendered_text_but_not_stderr_or_images():
    outputs = [
        [
            {"output_type": "stream", "name": "stdout", "text": "loss 0.5\n"},
            {"output_type": "stream", "name": "stderr", "text": "a warning\n"},
            {
                "output_type": "display_data",
                "data": {"image/png": "AAA", "text/plain": "<Figure size 10x10>"},
                "metadata": {},
            },
        ],
        [{"output_type": "display_data", "data": {"text/markdown": "| a |"}, "metadata": {}}],
    ]
    notebook = _notebook("print('loss')", "show()", outputs=outputs)
    assert text_outputs(notebook) == ["loss 0.5\n<Figure size 10x10>", "| a |"]


def test_text_outputs_do_not_depend_on_how_prints_and_displays_interleave():
    def stdout(text):
        return {"output_type": "stream", "name": "stdout", "text": text}

    player = {"output_type": "display_data", "data": {"text/plain": "<Audio>"}, "metadata": {}}
    one_way = _notebook("play()", outputs=[[stdout("a\n"), player, stdout("b\n"), player]])
    other_way = _notebook("play()", outputs=[[stdout("a\n"), stdout("b\n"), player, player]])
    assert text_outputs(one_way) == text_outputs(other_way) == ["a\nb\n<Audio><Audio>"]
    swapped = _notebook("play()", outputs=[[stdout("b\n"), player, stdout("a\n"), player]])
    assert text_outputs(swapped) != text_outputs(one_way)  # the printed order still counts


def test_differences_number_code_cells_from_one_and_ignore_timings():
    stored = ["epoch 1: 3.2 s, loss 0.51", "accuracy 0.90"]
    assert differences(stored, ["epoch 1: 9.9 s, loss 0.51", "accuracy 0.90"]) == []
    found = differences(stored, ["epoch 1: 3.2 s, loss 0.52", "accuracy 0.90"])
    assert [number for number, _ in found] == [1]
    assert "-epoch 1: <time>, loss 0.51" in found[0][1]
    assert "+epoch 1: <time>, loss 0.52" in found[0][1]
    with pytest.raises(ValueError, match="1 and 2 code cells"):
        differences(["a"], ["a", "b"])


def _printing_notebook(path, source: str, stored: str) -> None:
    """Write a one-cell notebook at ``path`` whose stored stdout is ``stored``."""
    output = {"output_type": "stream", "name": "stdout", "text": stored}
    nbformat.write(_notebook(source, outputs=[[output]]), path)


def test_script_passes_a_seeded_notebook_and_fails_an_unseeded_one(tmp_path, capsys):
    seeded, unseeded = tmp_path / "seeded.ipynb", tmp_path / "unseeded.ipynb"
    seeded_source = "import numpy as np\nprint(np.random.default_rng(0).random())"
    _printing_notebook(seeded, seeded_source, "0.6369616873214543\n")
    _printing_notebook(unseeded, "import numpy as np\nprint(np.random.random())", "0.5\n")
    assert main([str(seeded)]) == 0
    assert "seeded.ipynb: reproduces" in capsys.readouterr().out
    assert main([str(unseeded), str(seeded)]) == 1
    printed = capsys.readouterr().out
    assert "unseeded.ipynb: 1 cell(s) differ" in printed and "--- code cell 1" in printed


def test_execute_runs_in_the_chosen_mode_and_restores_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "mode.ipynb"
    nbformat.write(_notebook("import os\nprint(os.environ.get('RNN_QUICK'))"), path)
    monkeypatch.setenv("RNN_QUICK", "1")
    assert text_outputs(execute(path, quick=False)) == ["0\n"]
    assert text_outputs(execute(path, quick=None)) == ["1\n"]
    assert os.environ["RNN_QUICK"] == "1"
    assert nbformat.read(path, as_version=4).cells[1].outputs == []  # the file is not modified


def test_mask_timings_masks_timing_blocks_and_timing_columns_of_printed_tables():
    block = (
        "seconds for one epoch:\n"
        "pipeline              data alone  GRU model\n"
        "naive (Python)              0.08       0.75\n"
        "\n"
        "accuracy 0.91"
    )
    assert mask_timings(block).splitlines()[2] == f"naive (Python)              {MASK}       {MASK}"
    assert mask_timings(block).splitlines()[4] == "accuracy 0.91"
    table = (
        "                1 week  params  s/epoch (26-step)\n"
        "model                                            \n"
        "Dense            0.334  10,874              0.119\n"
        "GRU              0.302   4,410              2.228\n"
    )
    rows = mask_timings(table).splitlines()
    assert rows[2] == f"Dense            0.334  10,874              {MASK}"
    assert rows[3] == f"GRU              0.302   4,410              {MASK}"


class OptionOnly:
    """Stands in for pytest's config: just the --second-runs option."""

    def __init__(self, choice: str) -> None:
        self.choice = choice

    def getoption(self, name: str) -> str:
        assert name == "--second-runs"
        return self.choice


@pytest.mark.parametrize(
    "choice, course, solutions",
    [("notebooks", True, False), ("all", True, True), ("none", False, False)],
)
def test_second_runs_follow_the_course_notebooks_unless_told_otherwise(choice, course, solutions):
    config = OptionOnly(choice)
    assert wants_second_run(config, Path("notebooks/06_sentiment_many_to_one.ipynb")) is course
    solution = Path("notebooks/solutions/06_sentiment_many_to_one_solutions.ipynb")
    assert wants_second_run(config, solution) is solutions


def code_notebook(*outputs: str) -> dict:
    """A notebook of code cells with ids c0, c1, ... that printed ``outputs``."""
    cells = [
        {"cell_type": "code", "id": f"c{i}", "source": f"print({i})", "outputs": [stdout(text)]}
        for i, text in enumerate(outputs)
    ]
    return {"cells": [{"cell_type": "markdown", "id": "m", "source": "# Title"}, *cells]}


def stdout(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_second_run_compares_cells_by_id_and_names_the_one_that_differs():
    second = code_notebook("loss 0.25\n", "accuracy 0.91\n", "took 3.2 s\n")
    same = {"c0": "loss 0.25\n", "c1": "accuracy 0.91\n", "c2": "took 9.9 s\n"}
    assert check_reproducible.second_run_differences(same, second) == []
    moved = {**same, "c1": "accuracy 0.90\n"}
    (number, diff), *others = check_reproducible.second_run_differences(moved, second)
    assert number == 2 and not others and "-accuracy 0.90" in diff and "+accuracy 0.91" in diff
    failed = {"c0": "loss 0.25\n", "c1": None}  # c1 failed in the first run, c2 did not run
    assert check_reproducible.second_run_differences(failed, second) == []


@pytest.mark.parametrize("first_run", [{}, {"c0": None, "c1": None}])
def test_second_run_fails_when_the_first_run_kept_nothing(first_run):
    with pytest.raises(check_reproducible.NothingToCompareError, match="test_outputs"):
        check_reproducible.second_run_differences(first_run, code_notebook("loss 0.25\n"))
