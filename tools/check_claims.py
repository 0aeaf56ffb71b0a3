"""Find numbers that a notebook's prose quotes but none of its cells printed.

The course promises that every result its Markdown quotes was measured by a cell the learner can
run. This script reads each notebook's Markdown cells and reports every quoted number that no
output of the notebook prints, under one stated rule:

Checked: a decimal number (``0.865``, ``19.5 s``), a percentage (``12%``, ``0.9%``) and a number
with thousands separators (``1,833 digits``). Plain integers are not checked: they count layers,
seeds, epochs and sections far more often than they report a measurement.

A checked number passes when it is

- printed by an output of the same notebook (``86.5%`` also matches a printed ``0.865``, and a
  number the prose qualifies as approximate, ``about 0.2``, matches a printed one that rounds to
  it);
- printed by a notebook the cell names (``notebook 06``), or by the notebook's companion (a
  course notebook's solutions, a solutions notebook's course notebook): results quoted across
  notebooks stay checked;
- written in a code cell of the notebook: it configures the code (units, epochs, thresholds);
- inside LaTeX, inline code, a link or HTML: formulas and names, not measurements;
- in a sentence that cites its source (``et al.``, a year in parentheses, ``the lecture``): a
  figure from the literature or the lecture, not from this course's runs;
- in the Exercises section of a course notebook, which sets tasks rather than reports results.

A difference, ratio or interval is checked like any other number, so prose that quotes one needs
a cell that prints it.

    python tools/check_claims.py notebooks/*.ipynb notebooks/solutions/*.ipynb

Exit status 0 when every quoted number is printed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import nbformat

from tools.check_reproducible import output_text

_NOT_PROSE = [
    re.compile(pattern, re.DOTALL)
    for pattern in (
        r"```.*?```",  # code blocks
        r"\$\$.*?\$\$",  # display math
        r"(?<!\\)\$(?:[^$\\]|\\.)+?\$",  # inline math, across line breaks
        r"`[^`]*`",  # inline code
        r"!?\[[^\]]*\]\([^)]*\)",  # links and images: keep neither text nor target
        r"https?://\S+",
        r"<[^>]+>",  # HTML tags
    )
]
_CHECKED = re.compile(
    r"(?<![\w.,])(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+(?= ?%))(?P<percent> ?%)?"
    r"(?![\w]|\.\d|,\d)"
)
_PRINTED = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_APPROXIMATE = re.compile(
    r"(?:about|around|near|nearly|roughly|almost|approximately|some|~|≈)\s*[-+−]?$",
    re.IGNORECASE,
)
_CITATION = re.compile(r"et al\.|\((?:[^()]*\b)?(?:19|20)\d\d\)|\blecture\b|\bACL \d{4}\b")
_NAMED_NOTEBOOK = re.compile(r"\bnotebooks? (\d\d)\b", re.IGNORECASE)
_EXERCISES = re.compile(r"^#+\s*Exercises", re.MULTILINE)


@dataclass(frozen=True)
class UnprintedNumber:
    """A number a Markdown cell quotes that no allowed source prints."""

    notebook: Path
    cell: int  # index among all cells, from 0, as nbformat numbers them
    number: str
    context: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell}: {self.number!r} in «{self.context}»"


def _numbers_in(text: str) -> set[str]:
    """The numbers written in ``text``, thousands separators dropped."""
    return {match.group().replace(",", "") for match in _PRINTED.finditer(text)}


def printed_numbers(notebook: Mapping[str, Any]) -> frozenset[str]:
    """Every number the notebook's outputs print (stdout, tables, results), commas dropped."""
    return frozenset().union(
        *(
            _numbers_in("".join(output_text(output) for output in cell.get("outputs", [])))
            for cell in notebook["cells"]
            if cell["cell_type"] == "code"
        )
    )


def configured_numbers(notebook: Mapping[str, Any]) -> frozenset[str]:
    """Every number written in the notebook's code cells: settings, not measurements."""
    return frozenset().union(
        *(
            _numbers_in(re.sub(r"(?<=\d)_(?=\d)", "", "".join(cell["source"])))  # 8_000 is 8000
            for cell in notebook["cells"]
            if cell["cell_type"] == "code"
        )
    )


def prose(markdown: str) -> str:
    """``markdown`` with math, code, links and HTML blanked out (same length, same offsets)."""
    for pattern in _NOT_PROSE:
        markdown = pattern.sub(lambda match: " " * len(match.group()), markdown)
    return markdown


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def is_printed(number: str, percent: bool, approximate: bool, printed: Iterable[str]) -> bool:
    """Whether a quoted ``number`` (commas dropped) matches one of the ``printed`` numbers.

    Exactly, as written; a percentage also as a printed fraction with at least two more decimals
    that rounds to it (``86.5%`` and ``0.865``, ``100%`` and ``1.000``); an ``approximate`` quote
    also as any printed number that rounds to it at the quote's decimals (``about 0.2`` and
    ``0.19``).
    """
    printed = set(printed)
    if number in printed:
        return True
    decimals = _decimals(number)
    target = f"{float(number):.{decimals}f}"
    for candidate in printed:
        shown = float(candidate)
        as_percent = f"{shown * 100:.{decimals}f}"
        if percent and _decimals(candidate) >= decimals + 2 and as_percent == target:
            return True
        rounded = as_percent if percent and shown < 1 else f"{shown:.{decimals}f}"
        if approximate and rounded == target:
            return True
    return False


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` that holds ``text[start:end]``."""
    left = max(text.rfind(". ", 0, start), text.rfind("\n\n", 0, start), -1)
    right = min(
        (i for i in (text.find(". ", end), text.find("\n\n", end)) if i != -1), default=len(text)
    )
    return text[left + 1 : right + 1]


def _read(path: Path) -> Any:
    """The notebook at ``path``, read once per version of the file."""
    return _read_version(path, path.stat().st_mtime_ns)


@cache
def _read_version(path: Path, modified_ns: int) -> Any:
    return nbformat.read(path, as_version=4)


def companion_of(path: Path) -> Path:
    """A solutions notebook's course notebook, or a course notebook's solutions notebook."""
    if path.parent.name == "solutions":
        return path.parent.parent / path.name.replace("_solutions.ipynb", ".ipynb")
    return path.parent / "solutions" / path.name.replace(".ipynb", "_solutions.ipynb")


def _notebook_numbered(folder: Path, number: str) -> Path | None:
    found = sorted(folder.glob(f"{number}_*.ipynb"))
    return found[0] if found else None


def unprinted_numbers(
    path: Path, notebook: Mapping[str, Any] | None = None
) -> list[UnprintedNumber]:
    """Every number the Markdown of the notebook at ``path`` quotes that the rule does not allow.

    ``notebook`` is the notebook's content (default: read from ``path``); the notebooks it cites
    are read from ``path``'s folder.
    """
    notebook = notebook if notebook is not None else _read(path)
    course_folder = path.parent.parent if path.parent.name == "solutions" else path.parent
    own = printed_numbers(notebook) | configured_numbers(notebook)
    companion = companion_of(path)
    if companion.exists():
        own |= printed_numbers(_read(companion))
    is_course = path.parent.name != "solutions"
    found, in_exercises = [], False
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        markdown = "".join(cell["source"])
        if is_course and _EXERCISES.search(markdown):
            in_exercises = True
        if in_exercises:
            continue
        text = prose(markdown)
        allowed = set(own)
        for number in set(_NAMED_NOTEBOOK.findall(text)):
            named = _notebook_numbered(course_folder, number)
            if named is not None:
                allowed |= printed_numbers(_read(named))
        for match in _CHECKED.finditer(text):
            number = match.group("number").replace(",", "")
            sentence = _sentence_around(text, match.start(), match.end())
            if _CITATION.search(sentence):
                continue
            approximate = bool(
                _APPROXIMATE.search(text[max(0, match.start() - 16) : match.start()])
            )
            if not is_printed(number, bool(match.group("percent")), approximate, allowed):
                context = " ".join(text[max(0, match.start() - 50) : match.end() + 30].split())
                found.append(UnprintedNumber(path, index, match.group().strip(), context))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Report the unprinted numbers of each notebook named on the command line; 0 if none."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    found = [number for path in args.notebooks for number in unprinted_numbers(path)]
    for number in found:
        print(number)
    print(f"{len(found)} quoted number(s) that no cell prints")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
