"""Tests for utils.results: the Markdown tables and their collection into the README."""

import json

import numpy as np
import pytest

from utils.results import (
    README_BEGIN,
    README_END,
    bootstrap_mean_interval,
    collect_results,
    readme_with_results,
    results_markdown,
    stored_results_row,
    summarise_seeds,
)

ROW = {
    "model": "LSTM(32)",
    "params": 168353,
    "seconds_per_epoch": 31.25,
    "best_val_accuracy": 0.8912,
    "test_accuracy": 0.88456,
}


def test_results_markdown_has_the_standard_columns_and_formats_numbers():
    table = results_markdown([ROW, {**ROW, "model": "GRU(32)", "note": "cuDNN"}], "CPU, full mode")
    lines = table.splitlines()
    assert lines[0] == (
        "| model | params | seconds_per_epoch | best_val_accuracy | test_accuracy | note |"
    )
    assert lines[1] == "|---|---:|---:|---:|---:|---:|"
    assert lines[2] == "| LSTM(32) | 168,353 | 31.2 | 0.891 | 0.885 |  |"
    assert lines[3].endswith("| cuDNN |")
    assert lines[-1] == "CPU, full mode"


def test_each_column_has_one_precision():
    fast = {**ROW, "model": "bag of words", "seconds_per_epoch": 2.5}
    lines = results_markdown([ROW, fast], "x").splitlines()
    assert lines[2].split(" | ")[2] == "31.2"
    assert lines[3].split(" | ")[2] == "2.5", "not 2.500 next to 31.2"
    small = results_markdown([fast], "x").splitlines()
    assert small[2].split(" | ")[2] == "2.500"


def test_summarise_seeds_gives_mean_spread_and_run_count():
    runs = [
        {**ROW, "model": "seed 1", "test_accuracy": 0.88, "seeds": 1},
        {**ROW, "model": "seed 2", "test_accuracy": 0.90, "seeds": 1},
        {**ROW, "model": "seed 3", "test_accuracy": 0.86, "seeds": 1},
    ]
    summary = summarise_seeds(runs, "LSTM(32)")
    assert summary["model"] == "LSTM(32)" and summary["params"] == ROW["params"]
    assert summary["test_accuracy"] == pytest.approx(0.88)
    assert summary["test_accuracy_sd"] == pytest.approx(0.02)
    assert summary["best_val_accuracy_sd"] == pytest.approx(0.0)
    assert "seconds_per_epoch_sd" not in summary
    assert summary["seeds"] == 3
    keys = list(summary)
    assert keys.index("test_accuracy_sd") == keys.index("test_accuracy") + 1


def test_summarise_seeds_rejects_runs_that_are_not_one_model():
    with pytest.raises(ValueError, match="at least two runs"):
        summarise_seeds([ROW], "x")
    with pytest.raises(ValueError, match="agree on 'params'"):
        summarise_seeds([ROW, {**ROW, "params": 1}], "x")
    with pytest.raises(KeyError, match="same columns"):
        summarise_seeds([ROW, {**ROW, "extra": 1.0}], "x")


def test_results_markdown_rejects_missing_columns_and_empty_tables():
    with pytest.raises(KeyError, match="missing \\['test_accuracy'\\]"):
        results_markdown([{k: v for k, v in ROW.items() if k != "test_accuracy"}], "x")
    with pytest.raises(ValueError, match="at least one row"):
        results_markdown([], "x")


def _notebook(tmp_path, name, tagged_markdown):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# title"},
        {
            "cell_type": "code",
            "metadata": {"tags": ["results"]},
            "outputs": [
                {"output_type": "display_data", "data": {"text/markdown": tagged_markdown}}
            ],
            "source": "show_results(rows)",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [{"output_type": "display_data", "data": {"text/markdown": "not this"}}],
            "source": "",
        },
    ]
    path = tmp_path / name
    path.write_text(json.dumps({"cells": cells}))
    return path


def test_collect_results_takes_only_tagged_cells_in_notebook_order(tmp_path):
    first = _notebook(tmp_path, "06_a.ipynb", "| table A |\n")
    second = _notebook(tmp_path, "07_b.ipynb", ["| table ", "B |"])
    collected = collect_results([first, second])
    assert collected.index("table A") < collected.index("table B")
    assert "[06_a](notebooks/06_a.ipynb)" in collected
    assert "not this" not in collected


def test_readme_with_results_replaces_only_the_marked_section():
    readme = f"intro\n{README_BEGIN}\nold table\n{README_END}\noutro\n"
    updated = readme_with_results(readme, "new table\n")
    assert updated == f"intro\n{README_BEGIN}\nnew table\n{README_END}\noutro\n"
    assert readme_with_results(updated, "new table\n") == updated
    with pytest.raises(ValueError, match="must contain the markers"):
        readme_with_results("no markers", "x")


def test_results_markdown_takes_other_metric_columns_and_empty_values():
    rows = [
        {"model": "naive", "params": None, "seconds_per_epoch": None, "test_mae": 0.393},
        {"model": "LSTM", "params": 5466, "seconds_per_epoch": 0.677, "test_mae": 0.294},
    ]
    columns = ("model", "params", "seconds_per_epoch", "test_mae")
    lines = results_markdown(rows, "CO2, full mode", columns=columns).splitlines()
    assert lines[0] == "| model | params | seconds_per_epoch | test_mae |"
    assert lines[2] == "| naive |  |  | 0.393 |"
    assert lines[3] == "| LSTM | 5,466 | 0.677 | 0.294 |"
    with pytest.raises(KeyError, match="missing \\['test_mae'\\]"):
        results_markdown([{"model": "x", "params": 1, "seconds_per_epoch": 1.0}], "x", columns)


def test_numpy_scalars_are_formatted_like_python_numbers():
    import numpy as np

    row = {**ROW, "params": np.int64(168353), "test_accuracy": np.float32(0.88456)}
    assert "| LSTM(32) | 168,353 | 31.2 | 0.891 | 0.885 |" in results_markdown([row], "x")


def test_stored_results_row_reads_a_row_of_the_tagged_table_as_text(tmp_path):
    second = {**ROW, "model": "GRU(32)", "test_accuracy": 0.9}
    table = results_markdown([ROW, second], caption="| not | a row |")
    path = _notebook(tmp_path, "05_x.ipynb", table.splitlines(keepends=True))
    row = stored_results_row(path, "GRU(32)")
    assert row == {
        "model": "GRU(32)",
        "params": "168,353",
        "seconds_per_epoch": "31.2",
        "best_val_accuracy": "0.891",
        "test_accuracy": "0.900",
    }
    with pytest.raises(KeyError, match=r"No row 'not' .* \['LSTM\(32\)', 'GRU\(32\)'\]"):
        stored_results_row(path, "not")


def test_stored_results_row_says_when_the_notebook_has_no_stored_table(tmp_path):
    path = tmp_path / "01_empty.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": []}]}))
    with pytest.raises(ValueError, match=r"01_empty\.ipynb has no stored results table"):
        stored_results_row(path, "LSTM(32)")


def test_bootstrap_mean_interval_resamples_the_values_with_replacement():
    values = np.array([0.0, 1.0, 1.0, 0.0, 1.0, -1.0, 0.0, 1.0])
    low, high = bootstrap_mean_interval(values, 500, np.random.default_rng(3))
    samples = np.random.default_rng(3).integers(0, 8, (500, 8))
    expected = np.percentile(values[samples].mean(axis=1), [2.5, 97.5])
    assert (low, high) == pytest.approx(tuple(expected))
    assert low < values.mean() < high
    assert bootstrap_mean_interval(np.full(5, 0.25), 50, np.random.default_rng(0)) == (0.25, 0.25)
    with pytest.raises(ValueError, match="non-empty 1-D array"):
        bootstrap_mean_interval(np.array([]), 10, np.random.default_rng(0))
