"""Synthetic sequence tasks with a known answer, for measuring what recurrent models can learn.

NumPy only. Each generator is seeded, so a notebook's data is the same on every run.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import numpy as np


def long_range_task(
    num_samples: int,
    distance: int,
    num_classes: int = 4,
    vocab_size: int = 16,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The "Both Jim and Rose are in the ?" problem, reduced to its core.

    Each sequence starts with a *key* token that decides the label, followed by ``distance``
    distractor tokens drawn uniformly at random. A model reading left to right must carry the
    key across ``distance`` steps to answer at the last one, so accuracy against ``distance``
    measures how far back a recurrent model can remember. Chance accuracy is ``1/num_classes``.

    Token ids: 0 is never used (free for padding), ``1..num_classes`` are the keys and
    ``num_classes+1..vocab_size-1`` are the distractors.

    Returns:
        ``(x, y)``: ``x`` of shape ``(num_samples, distance + 1)`` and dtype ``int32``, and the
        labels ``y`` of shape ``(num_samples,)`` and dtype ``int64``, with ``y == x[:, 0] - 1``.
    """
    if num_samples < 1 or distance < 1:
        raise ValueError(f"num_samples and distance must be >= 1, got {num_samples}, {distance}.")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}.")
    if vocab_size < num_classes + 2:
        raise ValueError(
            f"vocab_size must leave room for padding, {num_classes} keys and at least one "
            f"distractor: use vocab_size >= {num_classes + 2}, got {vocab_size}."
        )
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=num_samples)
    x = rng.integers(num_classes + 1, vocab_size, size=(num_samples, distance + 1))
    x[:, 0] = labels + 1
    return x.astype(np.int32), labels.astype(np.int64)


ADDING_TRIVIAL_MSE = 1 / 6
"""Mean squared error of always answering 1.0 on :func:`adding_problem`: the variance of a sum
of two independent U(0, 1) numbers, 2 × 1/12. A model has learned something only below it."""


def adding_problem(num_samples: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015): add two marked numbers.

    Each sequence has ``length`` steps of two features: a random number in [0, 1) and a marker
    that is 1 at exactly two steps and 0 elsewhere. The target is the sum of the two marked
    numbers. One marker falls in the first half of the sequence and one in the second, so the
    first marked number must be carried for at least ``length // 2`` steps, across inputs that
    cannot be ignored: any of them might be the next marked one.

    Always answering the mean, 1.0, scores :data:`ADDING_TRIVIAL_MSE` (≈ 0.167); a model
    solves the task only far below that (the notebooks use 10% of it).

    Returns:
        ``(x, y)``: ``x`` of shape ``(num_samples, length, 2)`` (channel 0 the numbers,
        channel 1 the markers) and ``y`` of shape ``(num_samples,)``, both ``float32``.

    Raises:
        ValueError: for ``num_samples < 1`` or ``length < 2``.
    """
    if num_samples < 1 or length < 2:
        raise ValueError(
            f"Need num_samples >= 1 and length >= 2 (two markers), got {num_samples}, {length}."
        )
    rng = np.random.default_rng(seed)
    values = rng.random((num_samples, length))
    half = length // 2
    first = rng.integers(0, half, size=num_samples)
    second = rng.integers(half, length, size=num_samples)
    markers = np.zeros((num_samples, length))
    rows = np.arange(num_samples)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (x[rows, first, 0] + x[rows, second, 0]).astype(np.float32)
    return x, y


def recall_task(
    num_samples: int,
    distance: int,
    num_keys: int = 1,
    num_symbols: int = 8,
    noise: str = "symbols",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The copy / recall task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016), many-to-one.

    Each sequence is ``num_keys`` symbols to remember, then ``distance`` filler steps, then a
    cue; at the cue the model must name the remembered symbols, in order. With
    ``noise="symbols"`` the filler is drawn from the *same* alphabet as the keys, so a model
    cannot silence it by giving it a zero embedding (the shortcut that
    :func:`long_range_task` leaves open): it must decide by position what to keep. With
    ``noise="blank"`` the filler is one blank token, the classic copy task's silence.
    Chance accuracy is ``1/num_symbols`` per key.

    Token ids: 0 is never used (free for padding), ``1..num_symbols`` are the symbols,
    ``num_symbols + 1`` the blank and ``num_symbols + 2`` the cue, so an ``Embedding`` needs
    ``num_symbols + 3`` rows (:func:`recall_vocab_size`).

    Returns:
        ``(x, y)``: ``x`` of shape ``(num_samples, num_keys + distance + 1)`` and dtype
        ``int32``, and ``y`` of shape ``(num_samples, num_keys)`` and dtype ``int64`` holding
        the keys as classes ``0..num_symbols - 1`` (``y == x[:, :num_keys] - 1``).

    Raises:
        ValueError: for counts below 1, fewer than 2 symbols, or an unknown ``noise``.
    """
    if min(num_samples, distance, num_keys) < 1:
        raise ValueError(
            "num_samples, distance and num_keys must be >= 1, "
            f"got {num_samples}, {distance}, {num_keys}."
        )
    if num_symbols < 2:
        raise ValueError(f"num_symbols must be >= 2, got {num_symbols}.")
    if noise not in ("symbols", "blank"):
        raise ValueError(f'noise must be "symbols" or "blank", got {noise!r}.')
    rng = np.random.default_rng(seed)
    keys = rng.integers(1, num_symbols + 1, size=(num_samples, num_keys))
    if noise == "symbols":
        filler = rng.integers(1, num_symbols + 1, size=(num_samples, distance))
    else:
        filler = np.full((num_samples, distance), num_symbols + 1)
    cue = np.full((num_samples, 1), num_symbols + 2)
    x = np.concatenate([keys, filler, cue], axis=1)
    return x.astype(np.int32), (keys - 1).astype(np.int64)


def recall_vocab_size(num_symbols: int = 8) -> int:
    """Rows an ``Embedding`` needs for :func:`recall_task` tokens: padding, symbols, blank, cue."""
    return num_symbols + 3


# --------------------------------------------------------------------------------------------
# Written dates to ISO dates: a small translation task for encoder-decoder models
# --------------------------------------------------------------------------------------------

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ordinal(day: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


DATE_FORMATS: dict[str, Callable[[datetime.date], str]] = {
    "ordinal": lambda d: f"the {_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    "day_month_year": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "month_day_year": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "weekday": lambda d: f"{WEEKDAYS[d.weekday()]}, {d.day} {MONTHS[d.month - 1]} {d.year}",
    "short_month": lambda d: f"{d.day} {MONTHS[d.month - 1][:3].upper()} {d.year}",
    "lower_case": lambda d: f"{MONTHS[d.month - 1].lower()} {d.day} {d.year}",
    "slashes": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",
    "dots": lambda d: f"{d.day}.{d.month}.{d.year}",
}
"""How a date can be written (all day before month, as in British usage), by name.

"slashes" gives a two-digit year, so it is unambiguous only inside a window of 100 years."""


def make_date_pairs(
    num_samples: int, seed: int = 0, first_year: int = 1950, last_year: int = 2049
) -> tuple[list[str], list[str]]:
    """Pairs of (a date as people write it, the same date in ISO 8601), for a translator.

    The lecture's translation use of recurrent networks on a task small enough to train on a
    CPU: the source is a date written in one of the :data:`DATE_FORMATS`, e.g. "the 3rd of
    March 1999", "Wednesday, 3 March 1999" or "03/03/99", and the target is "1999-03-03".
    A model must learn month names, ordinals, the order of the fields, that a weekday carries
    no information, and which century a two-digit year belongs to (the one that puts it in
    ``[first_year, last_year]``).

    Dates are uniform over the calendar days of the years ``first_year..last_year`` and formats
    uniform over :data:`DATE_FORMATS`. Sources are all distinct, so consecutive slices of one
    call (train, validation, test) never share an input.

    Returns:
        ``(sources, targets)``, two lists of ``num_samples`` strings; every target has the form
        ``YYYY-MM-DD``.

    Raises:
        ValueError: for ``num_samples < 1``, more samples than distinct sources exist, or a
            year range that is empty, outside 1..9999 or longer than 100 years.
    """
    if not 1 <= first_year <= last_year <= 9999:
        raise ValueError(
            f"Need 1 <= first_year <= last_year <= 9999, got {first_year} and {last_year}."
        )
    if last_year - first_year >= 100:
        raise ValueError(
            f"The years {first_year}..{last_year} span more than 100 years, so a two-digit year "
            "would be ambiguous: use a range of at most 100 years."
        )
    first_day = datetime.date(first_year, 1, 1)
    num_days = (datetime.date(last_year, 12, 31) - first_day).days + 1
    formats = list(DATE_FORMATS.values())
    if not 1 <= num_samples <= num_days * len(formats):
        raise ValueError(
            f"num_samples must be between 1 and {num_days * len(formats):,} (the distinct "
            f"sources for {first_year}..{last_year}), got {num_samples}."
        )
    rng = np.random.default_rng(seed)
    pairs: dict[str, str] = {}
    while len(pairs) < num_samples:
        day = first_day + datetime.timedelta(days=int(rng.integers(num_days)))
        pairs.setdefault(formats[rng.integers(len(formats))](day), day.isoformat())
    return list(pairs), list(pairs.values())


OPEN, CLOSE, FILLER = 1, 2, 3  # token ids of the bracket task; 0 stays free for padding
BRACKET_SYMBOLS = {OPEN: "(", CLOSE: ")", FILLER: "_"}


def bracket_task(
    num_samples: int,
    length: int,
    bracket_probability: float = 0.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sequences of ``(``, ``)`` and filler, labelled per position: is this bracket matched?

    A bracket is *matched* when it pairs with a partner under the usual rule (each ``)``
    closes the nearest still-open ``(`` before it). Whether a ``)`` is matched depends only on
    what came before it, but whether a ``(`` is matched depends on what comes *after* it: a
    left-to-right RNN has not seen that yet when it must answer, a bidirectional one has.

    Args:
        num_samples: number of sequences.
        length: tokens per sequence.
        bracket_probability: chance that a position holds a bracket (half ``(``, half ``)``)
            rather than filler.
        seed: seed of the generator; the same seed gives the same data.

    Returns:
        ``(x, y, weights)``, each of shape ``(num_samples, length)``: token ids
        (:data:`OPEN`, :data:`CLOSE`, :data:`FILLER`) as ``int32``; labels (1 = matched
        bracket, 0 = unmatched bracket or filler) as ``int64``; and ``float32`` weights that are
        1 on brackets and 0 on filler, so that accuracy counts bracket positions only.
    """
    if num_samples < 1 or length < 1:
        raise ValueError(f"num_samples and length must be >= 1, got {num_samples}, {length}.")
    if not 0.0 < bracket_probability <= 1.0:
        raise ValueError(f"bracket_probability must be in (0, 1], got {bracket_probability}.")
    rng = np.random.default_rng(seed)
    is_bracket = rng.random((num_samples, length)) < bracket_probability
    x = np.where(is_bracket, rng.choice([OPEN, CLOSE], size=(num_samples, length)), FILLER)
    y = np.zeros((num_samples, length), dtype=np.int64)
    for row, tokens in enumerate(x):
        open_positions: list[int] = []
        for position, token in enumerate(tokens):
            if token == OPEN:
                open_positions.append(position)
            elif token == CLOSE and open_positions:
                y[row, open_positions.pop()] = 1
                y[row, position] = 1
    return x.astype(np.int32), y, is_bracket.astype(np.float32)


def bracket_string(tokens: np.ndarray) -> str:
    """Render one sequence of :func:`bracket_task` as text, e.g. ``"(_)(("``."""
    return "".join(BRACKET_SYMBOLS[int(token)] for token in tokens)
