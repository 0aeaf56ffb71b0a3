"""Tests for tools/check_claims.py: every number a notebook's prose quotes is printed by a cell.

The first test runs the check on every course and solutions notebook as committed; the others
show that it catches what it should (a planted number, the stale timings solutions 13 once
quoted) and lets through what its stated rule exempts.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from tools import check_claims
from tools.check_claims import is_printed, main, prose, unprinted_numbers

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ALL_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(NOTEBOOKS.glob("solutions/*.ipynb"))
CAPTIONING_SOLUTIONS = NOTEBOOKS / "solutions" / "13_image_captioning_solutions.ipynb"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda path: path.name)
def test_every_number_the_prose_quotes_is_printed(path):
    found = unprinted_numbers(path)
    assert not found, "\n".join(map(str, found))


def _with_markdown(path: Path, text: str, before_cell: int = 1) -> nbformat.NotebookNode:
    """The notebook at ``path`` with a Markdown cell of ``text`` inserted."""
    notebook = copy.deepcopy(nbformat.read(path, as_version=4))
    notebook.cells.insert(before_cell, nbformat.v4.new_markdown_cell(text))
    return notebook


def test_a_planted_unprinted_number_fails_the_check():
    planted = _with_markdown(CAPTIONING_SOLUTIONS, "The attention model reached 0.9137 on test.")
    found = unprinted_numbers(CAPTIONING_SOLUTIONS, planted)
    assert [number.number for number in found] == ["0.9137"]
    assert found[0].cell == 1 and "reached 0.9137 on test" in found[0].context


def test_the_stale_timings_solutions_13_once_quoted_are_caught():
    """Its cell 17 said "20.3 s against 19.0 s (1.1 times)" and "16.0 s to 20.2 s" where its
    outputs print 19.5 s against 19.5 s and 1.0 times."""
    stale = (
        "The Xu-style model took 20.3 s per epoch against 19.0 s (1.1 times), but epochs of "
        "attention models of the same size in this notebook took from 16.0 s (exercise 5) to "
        "20.2 s (exercise 4)."
    )
    notebook = _with_markdown(CAPTIONING_SOLUTIONS, stale, before_cell=17)
    quoted = [number.number for number in unprinted_numbers(CAPTIONING_SOLUTIONS, notebook)]
    assert quoted == ["20.3", "19.0", "1.1", "16.0", "20.2"]
    fixed = stale.replace("20.3", "19.5").replace("19.0", "19.5").replace("1.1", "1.0")
    fixed = fixed.replace("16.0", "18.7").replace("20.2", "20.1")
    notebook = _with_markdown(CAPTIONING_SOLUTIONS, fixed, before_cell=17)
    assert unprinted_numbers(CAPTIONING_SOLUTIONS, notebook) == []


def _notebook(markdown: str, printed: str, code: str = "") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(code)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [cell, nbformat.v4.new_markdown_cell(markdown)]
    return notebook


@pytest.mark.parametrize(
    ("markdown", "printed", "code"),
    [
        ("Accuracy 0.865 against 0.690.", "exact match 0.865\nheld out 0.690", ""),
        ("It is right 86.5% of the time.", "accuracy 0.865", ""),
        ("Every fold scored 100%.", "validation 1.000", ""),
        ("It uses 1,833 digits.", "1833 digits", ""),
        ("The gate sits near 0.76.", "mean 0.7583", ""),  # approximate: a rounding
        ("A learning rate of 0.003 and 8,000 words.", "", "LR = 0.003\nWORDS = 8_000"),
        ("The weights sum to $0.25 + 0.75 = 1.0$ and `dropout=0.2`.", "", ""),
        ("Maas et al. (2011) collected 50,000 reviews.", "", ""),
        ("The lecture quotes 30% fewer errors.", "", ""),
        ("Plain integers such as 25 epochs or 3 seeds are not checked.", "", ""),
    ],
)
def test_the_rule_lets_through_printed_configured_and_cited_numbers(markdown, printed, code):
    assert unprinted_numbers(Path("nb.ipynb"), _notebook(markdown, printed, code)) == []


@pytest.mark.parametrize(
    ("markdown", "printed", "unprinted"),
    [
        ("A gap of 0.175 points.", "0.865 and 0.690", "0.175"),  # a difference: print it
        ("It is right 87% of the time.", "accuracy 0.8649", "87%"),  # not a rounding of 86.49
        ("The gate sits at 0.76.", "mean 0.7583", "0.76"),  # exact unless marked approximate
        ("About 2.5 times the error.", "0.0074 against 0.0015", "2.5"),  # a ratio: print it
    ],
)
def test_the_rule_catches_derived_and_misquoted_numbers(markdown, printed, unprinted):
    found = unprinted_numbers(Path("nb.ipynb"), _notebook(markdown, printed))
    assert [number.number for number in found] == [unprinted]


def test_exercises_of_a_course_notebook_set_tasks_and_are_not_checked(tmp_path):
    notebook = _notebook("## Exercises\n\n1. Set the dropout to 0.35.", "")
    assert unprinted_numbers(tmp_path / "01_x.ipynb", notebook) == []
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    assert [n.number for n in unprinted_numbers(solutions / "01_x_solutions.ipynb", notebook)] == [
        "0.35"
    ]


def test_a_cell_may_quote_the_notebooks_it_names_and_its_companion(tmp_path):
    nbformat.write(_notebook("", "sd 0.002"), tmp_path / "06_sentiment.ipynb")
    (tmp_path / "solutions").mkdir()
    nbformat.write(_notebook("", "BLEU 35.3"), tmp_path / "solutions" / "07_x_solutions.ipynb")
    quoting = _notebook("Notebook 06 measured an sd of 0.002; exercise 1 finds 35.3.", "")
    assert unprinted_numbers(tmp_path / "07_x.ipynb", quoting) == []
    unnamed = _notebook("An sd of 0.002.", "")
    assert [n.number for n in unprinted_numbers(tmp_path / "07_x.ipynb", unnamed)] == ["0.002"]


def test_prose_blanks_math_code_and_links_but_keeps_offsets():
    text = "See $x_{0.5}$, `f(0.3)` and [the 0.7 page](https://x.org/0.9) for 0.1."
    kept = prose(text)
    assert len(kept) == len(text) and kept.endswith("for 0.1.")
    assert "0.5" not in kept and "0.3" not in kept and "0.7" not in kept and "0.9" not in kept


def test_is_printed_matches_percentages_only_as_roundings_of_fractions():
    assert is_printed("86.5", percent=True, approximate=False, printed={"0.865"})
    assert not is_printed("86.5", percent=False, approximate=False, printed={"0.865"})
    assert not is_printed("86", percent=True, approximate=False, printed={"0.8"})


def test_main_reports_and_fails_on_an_unprinted_number(tmp_path, capsys):
    path = tmp_path / "01_x.ipynb"
    nbformat.write(_notebook("We got 0.42.", "loss 0.41"), path)
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "'0.42'" in out and "1 quoted number(s) that no cell prints" in out
    nbformat.write(_notebook("We got 0.41.", "loss 0.41"), path)
    assert main([str(path)]) == 0


def test_the_module_states_its_rule():
    rule = check_claims.__doc__
    for exemption in ("code cell", "LaTeX", "et al.", "Exercises", "companion"):
        assert exemption in rule
