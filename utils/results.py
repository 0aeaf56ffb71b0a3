"""Results tables: printed by the notebooks, collected into the README.

A notebook that reports results has one code cell tagged ``results`` that calls
:func:`show_results`. That cell's Markdown output is the table. The maintenance script
``tools/update_readme_results.py`` copies every such table, in notebook order, into README.md
between the results markers, and a test fails when README.md and the notebooks disagree.
"""

from __future__ import annotations

import json
import numbers
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

RESULT_COLUMNS = ("model", "params", "seconds_per_epoch", "best_val_accuracy", "test_accuracy")
RESULTS_TAG = "results"
README_BEGIN = "<!-- results:begin (written by tools/update_readme_results.py; do not edit) -->"
README_END = "<!-- results:end -->"


def _decimals(values: Sequence[Any]) -> int:
    """One precision per column: three decimals when every measurement is below 10, else one."""
    measured = [abs(v) for v in values if _is_measurement(v)]
    return 3 if all(v < 10 for v in measured) else 1


def _is_measurement(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral))


def _format_cell(value: Any, decimals: int) -> str:
    """Counts with thousands separators, measurements with their column's precision."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, numbers.Integral):  # Python and NumPy integers
        return f"{value:,}"
    if _is_measurement(value):  # Python and NumPy floats
        return f"{value:.{decimals}f}"
    return str(value)


def results_markdown(
    rows: Sequence[Mapping[str, Any]],
    caption: str,
    columns: Sequence[str] = RESULT_COLUMNS,
) -> str:
    """A Markdown table, one row per model, with ``columns`` first and a caption line.

    Args:
        rows: one mapping per model holding every key of ``columns`` (a value may be ``None``,
            shown as an empty cell, e.g. the parameters of a baseline that has none); extra
            keys become extra columns, in first-seen order.
        caption: what produced the numbers: data, hardware and mode.
        columns: the leading columns. Classifiers use :data:`RESULT_COLUMNS`; a notebook
            with another test metric (a forecaster's MAE, say) names its own, starting with
            ``model``, ``params`` and ``seconds_per_epoch``.
    """
    if not rows:
        raise ValueError("A results table needs at least one row.")
    missing = [c for c in columns if any(c not in row for row in rows)]
    if missing:
        raise KeyError(f"Every row needs the columns {tuple(columns)}; missing {missing}.")
    columns = list(columns)
    for row in rows:
        columns += [key for key in row if key not in columns]
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" if c == "model" else "---:" for c in columns) + "|",
    ]
    decimals = {c: _decimals([row.get(c) for row in rows]) for c in columns}
    lines += [
        "| " + " | ".join(_format_cell(row.get(c), decimals[c]) for c in columns) + " |"
        for row in rows
    ]
    return "\n".join(lines) + f"\n\n{caption}\n"


def summarise_seeds(rows: Sequence[Mapping[str, Any]], label: str) -> dict[str, Any]:
    """One table row standing for several training runs of one model that differ only by seed.

    Measurements become their mean; each validation and test metric (``best_val_*``,
    ``test_*``) is followed by ``<metric>_sd``, the sample standard deviation over the runs, so
    a reader can tell a difference between two models from the noise of one model. ``seeds``
    says how many runs stand behind the row.
    """
    if len(rows) < 2:
        raise ValueError(f"A spread needs at least two runs; got {len(rows)}.")
    keys = [key for key in rows[0] if key not in ("model", "seeds")]
    if any(set(row) - {"model", "seeds"} != set(keys) for row in rows):
        raise KeyError("Every run must report the same columns.")
    summary: dict[str, Any] = {"model": label}
    for key in keys:
        values = [row[key] for row in rows]
        if not all(_is_measurement(v) for v in values):
            if len({str(v) for v in values}) > 1:
                raise ValueError(f"Runs of one model must agree on {key!r}; got {values}.")
            summary[key] = values[0]
            continue
        summary[key] = statistics.fmean(values)
        if key.startswith(("best_val_", "test_")):
            summary[f"{key}_sd"] = statistics.stdev(values)
    summary["seeds"] = len(rows)
    return summary


def bootstrap_mean_interval(
    values: np.ndarray, resamples: int, rng: np.random.Generator
) -> tuple[float, float]:
    """The 95% bootstrap interval of the mean of ``values``: resample them with replacement
    ``resamples`` times and take the 2.5th and 97.5th percentiles of the means.

    Pass per-item *differences* between two systems scored on the same items (1 where one is
    right and the other wrong, say) for a paired interval of their gap.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) == 0 or resamples < 1:
        raise ValueError(
            f"Need a non-empty 1-D array and resamples >= 1, got shape {values.shape} and "
            f"{resamples}."
        )
    samples = rng.integers(0, len(values), (resamples, len(values)))
    low, high = np.percentile(values[samples].mean(axis=1), [2.5, 97.5])
    return float(low), float(high)


def show_results(
    rows: Sequence[Mapping[str, Any]], caption: str, columns: Sequence[str] = RESULT_COLUMNS
) -> None:
    """Display :func:`results_markdown` as a rendered table (call it from the ``results`` cell)."""
    from IPython.display import Markdown, display

    display(Markdown(results_markdown(rows, caption, columns)))


def collect_results(notebook_paths: Sequence[Path]) -> str:
    """The README's results section: every ``results``-tagged cell's table, in notebook order."""
    sections = []
    for path in notebook_paths:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if RESULTS_TAG not in cell.get("metadata", {}).get("tags", []):
                continue
            for output in cell.get("outputs", []):
                markdown = output.get("data", {}).get("text/markdown")
                if markdown:
                    text = "".join(markdown).strip()
                    sections.append(f"**[{path.stem}](notebooks/{path.name})**\n\n{text}\n")
    return "\n".join(sections)


def stored_results_row(notebook: Path, label: str) -> dict[str, str]:
    """One row of a notebook's stored results table, as text: column name -> cell.

    A solutions notebook compares its runs with numbers its notebook already measured in the
    committed full-mode run (measuring them again would cost minutes of training). This reads
    them from the Markdown output of the notebook's ``results``-tagged cell rather than copying
    them by hand, so they cannot drift from the table the notebook shows.
    """
    notebook_json = json.loads(Path(notebook).read_text(encoding="utf-8"))
    tables = [
        "".join(output["data"]["text/markdown"])
        for cell in notebook_json["cells"]
        if RESULTS_TAG in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    ]
    if not tables:
        raise ValueError(
            f"{Path(notebook).name} has no stored results table (a cell tagged {RESULTS_TAG!r} "
            "with Markdown output): execute the notebook and save it with its outputs."
        )
    lines = tables[0].splitlines()
    header = [name.strip() for name in lines[0].strip("|").split("|")]
    labels = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break  # the caption
        values = [value.strip() for value in line.strip("|").split("|")]
        if values[0] == label:
            return dict(zip(header, values, strict=True))
        labels.append(values[0])
    raise KeyError(f"No row {label!r} in {Path(notebook).name}'s results table; it has {labels}.")


def readme_with_results(readme: str, results: str) -> str:
    """``readme`` with the text between the results markers replaced by ``results``."""
    if README_BEGIN not in readme or README_END not in readme:
        raise ValueError(f"README.md must contain the markers {README_BEGIN!r} and {README_END!r}.")
    head, _, rest = readme.partition(README_BEGIN)
    _, _, tail = rest.partition(README_END)
    return f"{head}{README_BEGIN}\n{results}{README_END}{tail}"
