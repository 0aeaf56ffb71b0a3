"""Synthetic tasks with a known answer, for measuring what recurrent models can learn.

Sequence tasks (memory, adding, recall, dates, brackets) and captioned scenes of handwritten
digits, whose true caption is known exactly. NumPy only. Each generator is seeded, so a
notebook's data is the same on every run.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import NamedTuple

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


# --------------------------------------------------------------------------- captioned scenes

SIZES = {"small": 8, "large": 16}  # pixels per side at which an 8x8 scan is drawn (draw_scan)
RELATIONS = {"row": "to the left of", "column": "above"}  # how neighbours relate, per layout
SCAN_SIDE = 8
_CENTRE_JITTER = 6  # pixels a row may wander up or down (a column left or right) from the centre


class SceneObject(NamedTuple):
    """One digit in a scene."""

    digit: int  # 0-9
    size: str  # a key of SIZES


class Scene(NamedTuple):
    """What a caption says: the digits, their sizes and how they are laid out.

    ``objects`` are in reading order: left to right for a row, top to bottom for a column.
    ``layout`` is "single" for one digit, otherwise "row" or "column".
    """

    objects: tuple[SceneObject, ...]
    layout: str


class CaptionedScenes(NamedTuple):
    """Images of scenes with their captions and everything needed to check them."""

    images: np.ndarray  # float32 (count, canvas, canvas), ink in [0, 1]
    captions: list[str]
    scenes: list[Scene]
    boxes: list[list[tuple[int, int, int]]]  # per object: (top, left, side) in pixels
    scans: list[list[int]]  # per object: the index of its scan in the images passed in


def caption(scene: Scene) -> str:
    """The one caption of ``scene`` in the course's small grammar.

    ``a large 7`` · ``a large 7 to the left of a small 2`` · ``a small 4 above a large 1`` ·
    ``a small 3 , a large 8 and a small 0 in a row`` (or ``in a column``).
    """
    _check_scene(scene)
    phrases = [f"a {item.size} {item.digit}" for item in scene.objects]
    if scene.layout == "single":
        return phrases[0]
    if len(phrases) == 2:
        return f"{phrases[0]} {RELATIONS[scene.layout]} {phrases[1]}"
    return f"{', '.join(phrases[:-1])} and {phrases[-1]} in a {scene.layout}".replace(",", " ,")


def parse_caption(text: str) -> Scene:
    """The scene a caption of :func:`caption`'s grammar describes, so that a model's caption can be
    checked for what it says rather than for its exact words.

    Raises:
        ValueError: naming the caption and the first place where it leaves the grammar.
    """
    tokens = text.split()

    def fail(reason: str) -> ValueError:
        return ValueError(f"Cannot parse caption {text!r}: {reason}.")

    def read_object(start: int) -> SceneObject:
        words = tokens[start : start + 3]
        if len(words) < 3 or words[0] != "a":
            raise fail(f"expected 'a <size> <digit>' at word {start + 1}")
        if words[1] not in SIZES:
            raise fail(f"{words[1]!r} is not a size ({' or '.join(SIZES)})")
        if len(words[2]) != 1 or not words[2].isdigit():
            raise fail(f"{words[2]!r} is not a digit")
        return SceneObject(int(words[2]), words[1])

    first = read_object(0)
    rest = tokens[3:]
    if not rest:
        return Scene((first,), "single")
    for layout, relation in RELATIONS.items():
        words = relation.split()
        if rest[: len(words)] == words:
            if len(rest) != len(words) + 3:
                raise fail(f"expected one object after {relation!r} and nothing more")
            return Scene((first, read_object(3 + len(words))), layout)
    if rest[0] == "," and len(rest) == 11 and rest[4] == "and" and rest[8:10] == ["in", "a"]:
        if rest[10] not in RELATIONS:
            raise fail(f"{rest[10]!r} is not a layout ({' or '.join(RELATIONS)})")
        return Scene((first, read_object(4), read_object(8)), rest[10])
    raise fail(f"expected a relation or ', <object> and <object> in a <layout>' after {first}")


def compositions(scene: Scene) -> set[tuple[int, str, int]]:
    """The (digit, layout, digit) triples of neighbouring objects: ``(7, "row", 2)`` for
    "a large 7 to the left of a small 2". Hold some out of training to test composition."""
    return {
        (a.digit, scene.layout, b.digit)
        for a, b in zip(scene.objects, scene.objects[1:], strict=False)
    }


def split_scans(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and test scans, the same fraction of every digit in the test part.

    Split the scans *before* building scenes, so that no handwriting seen in training appears
    in a test scene.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}.")
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    test = []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test.extend(members[: max(1, round(test_fraction * len(members)))])
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[test] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def make_captioned_scenes(
    scans: np.ndarray,
    labels: np.ndarray,
    count: int,
    seed: int,
    canvas: int = 48,
    objects: tuple[int, int] = (1, 3),
    held_out: frozenset[tuple[int, str, int]] = frozenset(),
    held_out_only: bool = False,
) -> CaptionedScenes:
    """``count`` scenes of ``objects[0]``-``objects[1]`` handwritten digits, with their captions.

    Each scene draws a number of digits, a layout (row or column for two or more), the digits
    and their sizes uniformly; each digit is drawn with a random scan of it from ``scans``
    (8x8, ink 0-16 as in ``sklearn.datasets.load_digits``), so pass only one split's scans.
    A row's digits sit side by side without overlapping, in random gaps, near the middle
    row of the canvas; a column's likewise from top to bottom; a single digit anywhere.
    Scenes containing a composition in ``held_out`` are skipped, or, with ``held_out_only``,
    are the only ones kept. A generator made from ``seed`` makes every draw.
    """
    scans, labels = np.asarray(scans, dtype=np.float32), np.asarray(labels)
    if scans.shape[1:] != (SCAN_SIDE, SCAN_SIDE) or len(scans) != len(labels):
        raise ValueError(
            f"scans must be (n, 8, 8) with one label each, got {scans.shape} and {len(labels)}."
        )
    missing = sorted(set(range(10)) - set(labels.tolist()))
    if missing:
        raise ValueError(f"The scans hold no example of the digits {missing}.")
    fewest, most = objects
    if not 1 <= fewest <= most <= 3:
        raise ValueError(f"objects must satisfy 1 <= fewest <= most <= 3, got {objects}.")
    largest = max(SIZES.values())
    if canvas < most * largest:
        raise ValueError(
            f"A canvas of {canvas} pixels cannot hold {most} large digits side by "
            f"side: use canvas >= {most * largest}."
        )
    if held_out_only and not held_out:
        raise ValueError("held_out_only needs some held_out compositions to look for.")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}.")
    rng = np.random.default_rng(seed)
    by_digit = [np.flatnonzero(labels == digit) for digit in range(10)]
    result = CaptionedScenes(np.zeros((count, canvas, canvas), np.float32), [], [], [], [])
    attempts = 0
    while len(result.scenes) < count:
        attempts += 1
        if attempts > 1_000 * count:
            raise ValueError(f"Found too few scenes that match held_out={sorted(held_out)}.")
        number = int(rng.integers(fewest, most + 1))
        layout = "single" if number == 1 else str(rng.choice(list(RELATIONS)))
        scene = Scene(
            tuple(
                SceneObject(int(rng.integers(10)), str(rng.choice(list(SIZES))))
                for _ in range(number)
            ),
            layout,
        )
        if bool(compositions(scene) & held_out) != held_out_only:
            continue
        chosen = [int(rng.choice(by_digit[item.digit])) for item in scene.objects]
        boxes = _place(scene, canvas, rng)
        image = result.images[len(result.scenes)]
        for scan, (top, left, side) in zip(chosen, boxes, strict=True):
            image[top : top + side, left : left + side] = draw_scan(scans[scan] / 16, side)
        result.captions.append(caption(scene))
        result.scenes.append(scene)
        result.boxes.append(boxes)
        result.scans.append(chosen)
    return result


def draw_scan(scan: np.ndarray, side: int) -> np.ndarray:
    """An 8x8 scan drawn ``side`` pixels wide by repeating its pixels (nearest neighbour).

    For a multiple of 8 this is ``np.kron(scan, np.ones((k, k)))``; other sides repeat some
    rows and columns once more than others (12 pixels: every other one twice).
    """
    if side < 1:
        raise ValueError(f"side must be a positive number of pixels, got {side}.")
    index = np.arange(side) * scan.shape[0] // side
    return scan[np.ix_(index, index)]


def _place(scene: Scene, canvas: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """(top, left, side) of each object: along the layout's axis in order with random gaps,
    across it near the centre. A single object goes anywhere."""
    sides = [SIZES[item.size] for item in scene.objects]
    if scene.layout == "single":
        top, left = rng.integers(0, canvas - sides[0] + 1, size=2)
        return [(int(top), int(left), sides[0])]
    gaps = rng.multinomial(canvas - sum(sides), np.ones(len(sides) + 1) / (len(sides) + 1))
    along = np.cumsum([gaps[0], *(s + g for s, g in zip(sides[:-1], gaps[1:-1], strict=True))])
    boxes = []
    for side, position in zip(sides, along, strict=True):
        centre = (canvas - side) // 2 + int(rng.integers(-_CENTRE_JITTER, _CENTRE_JITTER + 1))
        across = min(max(centre, 0), canvas - side)
        top, left = (across, position) if scene.layout == "row" else (position, across)
        boxes.append((int(top), int(left), side))
    return boxes


def _check_scene(scene: Scene) -> None:
    number = len(scene.objects)
    valid_layout = scene.layout == "single" if number == 1 else scene.layout in RELATIONS
    if not 1 <= number <= 3 or not valid_layout:
        raise ValueError(f"A scene has 1-3 objects and a layout that fits their number: {scene}.")
    for item in scene.objects:
        if item.size not in SIZES or not 0 <= item.digit <= 9:
            raise ValueError(f"Objects are a digit 0-9 and a size in {list(SIZES)}: {item}.")
