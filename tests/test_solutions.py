"""Exercises and their worked solutions stay in step.

Every numbered exercise of a notebook links to a ``## Exercise N`` section of its solutions
notebook (``notebooks/solutions/<notebook>_solutions.ipynb``), every such section answers an
exercise that exists, and each solutions notebook links back to its notebook.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*_solutions.ipynb"))


def markdown(path: Path) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [
        "".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown"
    ]


def exercises(path: Path) -> dict[int, str]:
    """Exercise number -> its text, from the notebook's ``## Exercises`` section."""
    section = next((text for text in markdown(path) if "## Exercises" in text), "")
    section = section.split("## Exercises", 1)[-1]
    items = re.split(r"^(\d+)\. ", section, flags=re.MULTILINE)[1:]
    return {int(number): text for number, text in zip(items[::2], items[1::2], strict=True)}


def solution_numbers(path: Path) -> list[int]:
    return [
        int(number)
        for text in markdown(path)
        for number in re.findall(r"^## Exercise (\d+)\s*$", text, flags=re.MULTILINE)
    ]


def notebook_of(solutions: Path) -> Path:
    return ROOT / "notebooks" / solutions.name.replace("_solutions.ipynb", ".ipynb")


def test_exercises_are_found_in_every_notebook():
    for path in NOTEBOOKS:
        numbers = list(exercises(path))
        assert numbers == list(range(1, len(numbers) + 1)) and numbers, path.name


def test_there_are_solutions():
    assert SOLUTIONS, "no solutions notebooks under notebooks/solutions/"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solutions_answer_exactly_the_exercises(path):
    assert notebook_of(path).is_file(), f"{path.name} has no notebook {notebook_of(path).name}"
    assert solution_numbers(path) == sorted(exercises(notebook_of(path))), (
        "one '## Exercise N' section per exercise, in order, and none for a missing exercise"
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_each_exercise_links_to_its_solution(path):
    for number, text in exercises(notebook_of(path)).items():
        link = f"(solutions/{path.name}#exercise-{number})"
        assert link in text, f"exercise {number} of {notebook_of(path).name} lacks {link}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solutions_link_back_to_their_notebook(path):
    assert f"(../{notebook_of(path).name})" in markdown(path)[0]
