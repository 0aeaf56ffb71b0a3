"""Results tables: printed by the notebooks, collected into the README.

A notebook that reports results has one code cell tagged ``results`` that calls
:func:`show_results`. That cell's Markdown output is the table; ``python -m utils.results``
copies every such table, in notebook order, into README.md between the results markers,
and a test fails when README.md and the notebooks disagree.
"""

from __future__ import annotations

import json
import numbers
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

RESULT_COLUMNS = ("model", "params", "seconds_per_epoch", "best_val_accuracy", "test_accuracy")
RESULTS_TAG = "results"
README_BEGIN = "<!-- results:begin (written by `python -m utils.results`; do not edit) -->"
README_END = "<!-- results:end -->"
ROOT = Path(__file__).resolve().parent.parent


def _format_cell(value: Any) -> str:
    """Counts with thousands separators, measurements to three significant places."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, numbers.Integral):  # Python and NumPy integers
        return f"{value:,}"
    if isinstance(value, numbers.Real):  # Python and NumPy floats
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
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
    lines += ["| " + " | ".join(_format_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + f"\n\n{caption}\n"


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


def readme_with_results(readme: str, results: str) -> str:
    """``readme`` with the text between the results markers replaced by ``results``."""
    if README_BEGIN not in readme or README_END not in readme:
        raise ValueError(f"README.md must contain the markers {README_BEGIN!r} and {README_END!r}.")
    head, _, rest = readme.partition(README_BEGIN)
    _, _, tail = rest.partition(README_END)
    return f"{head}{README_BEGIN}\n{results}{README_END}{tail}"


def main() -> None:
    """Rewrite README.md's results section from the executed notebooks."""
    readme_path = ROOT / "README.md"
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    readme_path.write_text(
        readme_with_results(readme_path.read_text(encoding="utf-8"), collect_results(notebooks)),
        encoding="utf-8",
    )
    print(f"Updated {readme_path.name} from {len(notebooks)} notebooks.", file=sys.stderr)


if __name__ == "__main__":
    main()
