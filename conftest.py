"""Test-session defaults, and the check that every notebook prints the same numbers twice.

The test suite runs the notebooks in quick mode unless told otherwise. nbval executes each
notebook once (comparing the cells marked ``# NBVAL_CHECK_OUTPUT`` with the stored outputs); we
keep what every cell printed in that run, and right after it execute the notebook a second time in
a fresh kernel and require the same text outputs, timings aside. An unseeded
random draw anywhere in a notebook or in ``utils`` makes the two runs differ and fails the suite.

Which notebooks get that second run is ``--second-runs``: ``notebooks`` (the default, what CI
runs) for the course notebooks, whose second runs already exercise every ``utils`` module;
``all`` adds the solutions notebooks, whose second runs would add about eight minutes to CI;
run ``pytest --second-runs=all notebooks/solutions/<name>`` after changing a solutions notebook.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

# Set before any notebook kernel starts, so every kernel nbval launches inherits it.
# Run `RNN_QUICK=0 pytest notebooks` to execute the notebooks in full mode instead.
os.environ.setdefault("RNN_QUICK", "1")

_FIRST_RUN: dict[Path, dict[str, str | None]] = {}  # notebook -> cell key -> text (None: none)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Keep the text each nbval cell printed, keyed by the cell's id (not its number).

    nbval keeps a cell's outputs on its item (``test_outputs``); a cell whose item holds none is
    recorded as ``None``, so a change in nbval makes the second run fail, never pass silently.
    """
    yield
    cell = getattr(item, "cell", None)
    if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
        return  # not one of nbval's cells
    from tools.check_reproducible import cell_key, cell_text

    outputs = getattr(item, "test_outputs", None)
    text = None if outputs is None else cell_text(outputs)
    _FIRST_RUN.setdefault(Path(str(item.path)), {})[cell_key(cell)] = text


class SecondRun(pytest.Item):
    """Execute one notebook again and compare its text outputs with nbval's run of it."""

    def __init__(self, *, notebook: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.notebook = notebook

    def runtest(self) -> None:
        from tools.check_reproducible import execute, second_run_differences

        first = _FIRST_RUN.get(self.notebook, {})
        found = second_run_differences(first, execute(self.notebook, quick=None))
        if found:
            report = "\n".join(f"--- code cell {number}\n{diff}" for number, diff in found)
            raise AssertionError(
                f"{self.notebook.name} printed different numbers in two runs (timings aside); "
                f"seed the random draws of these cells:\n{report}"
            )

    def reportinfo(self):
        return self.notebook, None, f"{self.notebook.name}: second run prints the same"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--second-runs",
        choices=("notebooks", "all", "none"),
        default="notebooks",
        help="which notebooks nbval runs are followed by a second run that must print the same: "
        "the course notebooks (default), all of them (solutions too) or none",
    )


def wants_second_run(config: pytest.Config, notebook: Path) -> bool:
    """Whether ``--second-runs`` asks for a second run of ``notebook``."""
    choice = config.getoption("--second-runs")
    return choice == "all" or (choice == "notebooks" and notebook.parent.name != "solutions")


def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Right after the last cell of each notebook that nbval collected, its :class:`SecondRun`.

    Each is collected under its notebook (``notebooks/<name>.ipynb::second_run``), so that
    pytest-xdist's ``--dist loadfile`` (see pyproject.toml) runs it on the worker that ran the
    notebook's cells, after them.
    """
    last_cell = {}  # notebook path -> (index of its last cell item, nbval's collector of it)
    for index, item in enumerate(items):
        if isinstance(getattr(item, "cell", None), Mapping):  # one of nbval's cells
            last_cell[Path(str(item.path))] = (index, item.parent)
    for path, (index, collector) in sorted(last_cell.items(), key=lambda entry: -entry[1][0]):
        if not wants_second_run(session.config, path):
            continue
        items.insert(index + 1, SecondRun.from_parent(collector, name="second_run", notebook=path))
