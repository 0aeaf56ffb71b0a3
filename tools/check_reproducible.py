"""Re-execute notebooks in a fresh kernel and compare what they print with what they printed before.

A learner who re-runs a notebook should see the numbers its prose talks about. This script runs
each notebook top to bottom in a new kernel, in full mode (the mode of the stored outputs),
compares every code cell's text output with the stored one, and prints the cells that differ.
Lines may differ only in what reports time (seconds per epoch, ms/step, wall time): those numbers
are masked before comparing, as are the timing columns of results tables.

    python tools/check_reproducible.py notebooks/08_text_generation_and_beam_search.ipynb
    python tools/check_reproducible.py notebooks/0[1-4]_*.ipynb

Exit status 0 when every notebook reproduces, 1 otherwise. The test suite uses the same
functions to execute every notebook twice in quick mode (see the root ``conftest.py``).
"""

from __future__ import annotations

import argparse
import copy
import difflib
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

MASK = "<time>"
_NUMBER = r"\d+(?:[.,]\d+)*(?:\.\d+)?"
_TIME_UNIT = r"(?:ms|µs|us|s|sec|secs|seconds?|min|mins|minutes?|h|hours?)(?![A-Za-z])"
_TIME_TOKEN = re.compile(rf"{_NUMBER} ?{_TIME_UNIT}")
# A word that says a phrase measures time. Whole words only: "sometimes", "runtime" and
# "10^108 times more probable" name no time.
_TIMING_WORDS = re.compile(
    r"(?<![A-Za-z0-9])(?:s/epoch|seconds?|secs?|minutes?|ms|time|timing|wall|faster|slower|speed(?:-?up)?)"
    r"(?![A-Za-z])",
    re.IGNORECASE,
)
# A word that names a unit of time: a line led by one reports times after its colon.
_UNIT_WORDS = re.compile(
    r"(?<![A-Za-z0-9])(?:s/epoch|seconds?|secs?|minutes?|ms|time per|epoch time)(?![A-Za-z])",
    re.IGNORECASE,
)
_ANY_NUMBER = re.compile(rf"[-+]?{_NUMBER}(?:[eE][-+]?\d+)?")
# A ratio has decimals (1.82x, x1.82, 1.0 times): "x2" and "2x" count layers or units.
_RATIO = re.compile(r"(?<![A-Za-z])[x×]\d+\.\d+|\d+\.\d+(?:[x×](?![A-Za-z])| times\b)")
_AFTER_TIME = re.compile(rf"{_TIME_TOKEN.pattern}(?:/\w+)?\s*\(([^()]*)\)")
_BEFORE_TIME = re.compile(rf"({_NUMBER})(?: and | to |-|–){_TIME_TOKEN.pattern}")
MACHINE = "<machine>"
_CPU_DESCRIPTION = re.compile(r"CPU only \((?:[^()]|\([^()]*\))*\)")  # "Intel(R)" nests
_TIMING_COLUMN = re.compile(r"second|time|_ms\b|speed", re.IGNORECASE)
_TIMING_HEADER = re.compile(r"s/epoch(?: \([^)]*\))?|seconds?_per_epoch|seconds?/epoch")


def _mask_table_columns(lines: list[str]) -> list[str]:
    """Mask the cells of Markdown-table columns named after a time (``seconds_per_epoch``)."""
    masked, timing_columns = [], set()
    for line in lines:
        if not line.startswith("|"):
            timing_columns = set()
            masked.append(line)
            continue
        cells = line.strip().strip("|").split("|")
        if not timing_columns and not set(line) <= set("|-: "):
            header = [cell.strip() for cell in cells]
            found = {i for i, name in enumerate(header) if _TIMING_COLUMN.search(name)}
            if found:
                timing_columns = found
                masked.append(line)
                continue
        if timing_columns and not set(line) <= set("|-: "):
            cells = [f" {MASK} " if i in timing_columns else c for i, c in enumerate(cells)]
            line = "|" + "|".join(cells) + "|"
        masked.append(line)
    return masked


def _mask_numbers_in_spans(
    line: str, spans: Sequence[tuple[int, int]], whole: Sequence[tuple[int, int]] = ()
) -> str:
    """``line`` with every number that overlaps one of the character ``spans`` masked, and
    each of the ``whole`` spans (a number with its unit) masked as one piece."""
    cuts = [*whole]
    for match in _ANY_NUMBER.finditer(line):
        if any(match.start() < end and start < match.end() for start, end in spans):
            cuts.append(match.span())
    pieces, last = [], 0
    for start, end in sorted(cuts):
        if start >= last:
            pieces += [line[last:start], MASK]
            last = end
    return "".join([*pieces, line[last:]])


def _mask_line(line: str) -> str:
    """One line with the numbers that report time masked (see :func:`mask_timings`)."""
    spans = [match.span(1) for match in _AFTER_TIME.finditer(line)]
    lead, colon, _ = line.partition(":")
    if colon and _UNIT_WORDS.search(lead) and not re.search(r"\d", lead):
        spans.append((len(lead) + 1, len(line)))
    spans += [match.span(1) for match in _BEFORE_TIME.finditer(line)]
    start = 0
    for segment in re.split(r"[,;]", line):
        if _TIMING_WORDS.search(segment) or _TIME_TOKEN.search(segment):
            spans += [(start + m.start(), start + m.end()) for m in _RATIO.finditer(segment)]
        start += len(segment) + 1
    return _mask_numbers_in_spans(line, spans, [m.span() for m in _TIME_TOKEN.finditer(line)])


def mask_timings(text: str) -> str:
    """``text`` with every number that reports time replaced by ``<time>``, and nothing else.

    Masked, and only these:

    - a number with a time unit (``12.3 s``, ``51ms/step``, ``2 min 10 s``), and one that shares
      it (``2.6 and 2.5 s``, ``0.17-1.00 s``);
    - the numbers in parentheses right after one (``3.50 s/epoch (runs: 3.50 4.83)``);
    - every number after the colon of a line whose lead names a unit of time and holds no number
      (``seconds per epoch: 3.08 default, 3.11 deterministic``);
    - a ratio with decimals (``1.82x``, ``x1.82``, ``1.0 times``) in a comma-separated phrase
      that talks about time or holds one (``seconds per epoch x1.82``, ``14.2 s per epoch
      (x2.05)``);
    - every number of a block that a line naming a unit of time introduces with a colon
      (``seconds for one epoch:``), up to the next blank line;
    - the column of a printed table whose header names a time (``s/epoch``,
      ``seconds_per_epoch``), and the same column of a Markdown table.

    The processor a line names (``CPU only (2 cores, <model>)``) is replaced by ``<machine>``: it
    says where the run happened, not what it found. Everything else is kept, on timing lines
    too: in ``BLEU 35.3 (decoding time 108 s)`` only ``108 s`` is masked.
    """
    lines, timing_block, timing_spans = [], False, []
    for line in _mask_table_columns(
        _CPU_DESCRIPTION.sub(f"CPU only ({MACHINE})", text).splitlines()
    ):
        if not line.strip():
            timing_block, timing_spans = False, []
        elif line.startswith("|"):
            pass
        elif timing_block:
            line = _ANY_NUMBER.sub(MASK, line)
        else:
            if _UNIT_WORDS.search(line):  # before masking: the mask itself reads "time"
                timing_block = line.rstrip().endswith(":")
                timing_spans += [match.span() for match in _TIMING_HEADER.finditer(line)]
            line = _mask_line(_mask_numbers_in_spans(line, timing_spans))
        lines.append(line)
    return "\n".join(lines)


def output_text(output: Mapping[str, Any]) -> str:
    """The text a reader sees for one output: stdout, rendered Markdown/plain text, or an error.

    stderr (warnings) and images are left out: they are not numbers the prose quotes.
    """
    kind = output.get("output_type")
    if kind == "stream":
        return "".join(output.get("text", "")) if output.get("name") == "stdout" else ""
    if kind in ("execute_result", "display_data"):
        data = output.get("data", {})
        for mime in ("text/markdown", "text/plain"):
            if mime in data:
                return "".join(data[mime])
        return ""
    if kind == "error":
        return f"{output.get('ename')}: {output.get('evalue')}"
    return ""


def cell_text(outputs: Sequence[Mapping[str, Any]]) -> str:
    """The text of one cell's outputs: everything it printed, then everything it displayed.

    Printed text comes first and displayed objects after, each in their own order: Jupyter sends
    a display (an audio player, a table) at once but printed text when its buffer is flushed, so
    a cell that alternates ``print`` and ``display`` can interleave them differently on two runs
    that print the same thing.
    """
    printed = [output for output in outputs if output.get("output_type") == "stream"]
    shown = [output for output in outputs if output.get("output_type") != "stream"]
    return "".join(output_text(output) for output in [*printed, *shown])


def text_outputs(notebook: Mapping[str, Any]) -> list[str]:
    """One string per code cell, in order: what :func:`cell_text` reads from its outputs."""
    return [
        cell_text(cell.get("outputs", []))
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
    ]


def differences(
    stored: Sequence[str], fresh: Sequence[str], labels: tuple[str, str] = ("stored", "re-run")
) -> list[tuple[int, str]]:
    """``(code cell number, unified diff)`` for each cell whose masked outputs differ.

    Code cells are numbered from 1, as Jupyter's execution counts number them; ``labels`` name
    the two runs in the diff.
    """
    if len(stored) != len(fresh):
        raise ValueError(f"The runs have {len(stored)} and {len(fresh)} code cells.")
    found = []
    for number, (before, after) in enumerate(zip(stored, fresh, strict=True), start=1):
        before_lines = mask_timings(before).splitlines()
        after_lines = mask_timings(after).splitlines()
        if before_lines != after_lines:
            diff = difflib.unified_diff(before_lines, after_lines, *labels, lineterm="")
            found.append((number, "\n".join(diff)))
    return found


class NothingToCompareError(AssertionError):
    """A second run has no first run to compare with: it must fail, never pass or skip."""


def cell_key(cell: Mapping[str, Any]) -> str:
    """A code cell's identity in two runs of one notebook: its nbformat id, else its source.

    Not its position, which test tools number differently (nbval from 0 or from 1).
    """
    return cell.get("id") or "".join(cell.get("source", ""))


def second_run_differences(
    first_run: Mapping[str, str | None], notebook: Mapping[str, Any]
) -> list[tuple[int, str]]:
    """Compare a first run's texts, by :func:`cell_key` (``None``: kept none, as for a cell that
    failed), with the executed ``notebook``; ``(code cell number, diff)`` as :func:`differences`.

    A cell the first run did not report is not compared (its failure is already reported).

    Raises:
        NothingToCompareError: the first run reported no text at all, so nothing would be
            checked: the notebook's cells did not run in this session, or the tool that ran them
            no longer hands over what they printed.
    """
    captured = {key: text for key, text in first_run.items() if text is not None}
    if not captured:
        raise NothingToCompareError(
            "The first run left no outputs to compare with: run the notebook's cells in the same "
            "session (`pytest <notebook>`, not `-k second_run` alone); if they did run, "
            "this nbval keeps a cell's outputs elsewhere than `IPyNbCell.test_outputs`: update "
            "conftest.py."
        )
    cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    second = [cell_text(cell.get("outputs", [])) for cell in cells]
    first = [captured.get(cell_key(c), text) for c, text in zip(cells, second, strict=True)]
    return differences(first, second, labels=("first run", "second run"))


@contextmanager
def _quick_mode(quick: bool | None) -> Iterator[None]:
    """Set ``RNN_QUICK`` for kernels started inside the block (``None``: leave it as it is)."""
    saved = os.environ.get("RNN_QUICK")
    if quick is not None:
        os.environ["RNN_QUICK"] = "1" if quick else "0"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["RNN_QUICK"]
        else:
            os.environ["RNN_QUICK"] = saved


def execute(path: Path, quick: bool | None, timeout: int | None = None) -> dict:
    """Run a copy of the notebook at ``path`` top to bottom in a fresh kernel; return it.

    ``quick`` chooses the mode (``None``: whatever ``RNN_QUICK`` says now). The kernel starts in
    the notebook's folder, as Jupyter starts it; the file is not modified.
    """
    notebook = nbformat.read(path, as_version=4)
    fresh = copy.deepcopy(notebook)
    with _quick_mode(quick):
        client = NotebookClient(
            fresh,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    return fresh


def main(argv: Sequence[str] | None = None) -> int:
    """Check each notebook named on the command line; print what differs; return 0 or 1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    failed = 0
    for path in args.notebooks:
        stored = text_outputs(nbformat.read(path, as_version=4))
        found = differences(stored, text_outputs(execute(path, quick=False)))
        verdict = "reproduces" if not found else f"{len(found)} cell(s) differ"
        print(f"{path}: {verdict} (timings aside)")
        for number, diff in found:
            print(f"--- code cell {number}\n{diff}")
        failed += bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
