"""The synthetic tasks produce the data their docstrings promise, reproducibly."""

from __future__ import annotations

import datetime
import re

import numpy as np
import pytest

from utils import tasks
from utils.tasks import (
    ADDING_TRIVIAL_MSE,
    CLOSE,
    DATE_FORMATS,
    FILLER,
    OPEN,
    adding_problem,
    bracket_string,
    bracket_task,
    long_range_task,
    make_date_pairs,
    recall_task,
    recall_vocab_size,
)


@pytest.mark.parametrize("num_samples, distance", [(1, 1), (7, 3), (500, 40)])
def test_long_range_task_shapes_and_dtypes(num_samples, distance):
    x, y = long_range_task(num_samples, distance)

    assert x.shape == (num_samples, distance + 1) and x.dtype == np.int32
    assert y.shape == (num_samples,) and y.dtype == np.int64


def test_long_range_task_label_is_the_key_and_distractors_are_not_keys():
    num_classes, vocab_size = 3, 10
    x, y = long_range_task(2000, 12, num_classes=num_classes, vocab_size=vocab_size, seed=4)

    np.testing.assert_array_equal(y, x[:, 0] - 1)
    assert set(np.unique(y)) == set(range(num_classes))
    distractors = x[:, 1:]
    assert distractors.min() == num_classes + 1 and distractors.max() == vocab_size - 1
    assert not (x == 0).any(), "token 0 is reserved for padding"
    # Classes are balanced to within sampling noise, so chance accuracy is 1/num_classes.
    np.testing.assert_allclose(np.bincount(y) / len(y), 1 / num_classes, atol=0.04)


def test_long_range_task_only_the_key_carries_information():
    """Distractors are drawn independently of the label: their mean is the same for each class."""
    x, y = long_range_task(6000, 5, seed=1)
    means = [x[y == label, 1:].mean() for label in range(4)]
    np.testing.assert_allclose(means, np.mean(means), atol=0.15)


def test_long_range_task_is_deterministic_by_seed():
    first, again, other = (long_range_task(50, 8, seed=s) for s in (3, 3, 4))

    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_long_range_task_labels_do_not_depend_on_distance():
    """Labels depend on the seed and the sample count only, so runs over L share their labels."""
    _, y_short = long_range_task(100, 5, seed=2)
    _, y_long = long_range_task(100, 50, seed=2)
    np.testing.assert_array_equal(y_short, y_long)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_samples": 0, "distance": 5}, "num_samples and distance must be >= 1, got 0, 5"),
        ({"num_samples": 10, "distance": 0}, "num_samples and distance must be >= 1, got 10, 0"),
        ({"num_samples": 10, "distance": 5, "num_classes": 1}, "num_classes must be >= 2"),
        (
            {"num_samples": 10, "distance": 5, "num_classes": 4, "vocab_size": 5},
            "use vocab_size >= 6, got 5",
        ),
    ],
)
def test_long_range_task_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        long_range_task(**kwargs)


# --- the adding problem -----------------------------------------------------------------------


@pytest.mark.parametrize("num_samples, length", [(1, 2), (5, 3), (300, 50)])
def test_adding_problem_shapes_and_dtypes(num_samples, length):
    x, y = adding_problem(num_samples, length)

    assert x.shape == (num_samples, length, 2) and x.dtype == np.float32
    assert y.shape == (num_samples,) and y.dtype == np.float32


def test_adding_problem_target_is_the_sum_of_the_two_marked_numbers():
    """Recomputed row by row with Python's sum over the steps whose marker is set."""
    x, y = adding_problem(400, 17, seed=3)
    for sequence, target in zip(x, y, strict=True):
        marked = [value for value, marker in sequence if marker == 1.0]
        assert len(marked) == 2
        assert target == pytest.approx(sum(marked), abs=1e-6)
    assert set(np.unique(x[..., 1])) == {0.0, 1.0}
    assert x[..., 0].min() >= 0.0 and x[..., 0].max() < 1.0


def test_adding_problem_puts_one_marker_in_each_half():
    length = 40
    x, _ = adding_problem(1000, length, seed=5)
    positions = np.array([np.flatnonzero(markers) for markers in x[..., 1]])
    assert (positions[:, 0] < length // 2).all() and (positions[:, 1] >= length // 2).all()
    # Every position of each half is used: the markers are uniform over their halves.
    assert set(positions[:, 0]) == set(range(length // 2))
    assert set(positions[:, 1]) == set(range(length // 2, length))


def test_adding_problem_trivial_predictor_scores_its_stated_mse():
    """Answering 1.0 everywhere scores the variance of a sum of two U(0, 1) numbers, 1/6."""
    _, y = adding_problem(200_000, 10, seed=0)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(ADDING_TRIVIAL_MSE, rel=0.01)
    assert pytest.approx(2 / 12) == ADDING_TRIVIAL_MSE


def test_adding_problem_is_deterministic_by_seed():
    first, again, other = (adding_problem(20, 9, seed=s) for s in (1, 1, 2))

    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("num_samples, length", [(0, 10), (10, 1), (-1, 5)])
def test_adding_problem_rejects_bad_arguments(num_samples, length):
    with pytest.raises(ValueError, match="Need num_samples >= 1 and length >= 2"):
        adding_problem(num_samples, length)


# --- the recall task --------------------------------------------------------------------------


@pytest.mark.parametrize("num_keys, distance", [(1, 1), (3, 10), (2, 100)])
def test_recall_task_shapes_and_dtypes(num_keys, distance):
    x, y = recall_task(50, distance, num_keys=num_keys)

    assert x.shape == (50, num_keys + distance + 1) and x.dtype == np.int32
    assert y.shape == (50, num_keys) and y.dtype == np.int64


@pytest.mark.parametrize("noise", ["symbols", "blank"])
def test_recall_task_labels_are_the_keys_before_the_filler(noise):
    """Recomputed from the token layout: keys, then ``distance`` filler tokens, then one cue."""
    num_symbols, num_keys, distance = 6, 3, 12
    x, y = recall_task(500, distance, num_keys, num_symbols, noise=noise, seed=7)
    blank, cue = num_symbols + 1, num_symbols + 2
    for tokens, labels in zip(x, y, strict=True):
        keys, filler, last = tokens[:num_keys], tokens[num_keys:-1], tokens[-1]
        assert [int(k) - 1 for k in keys] == list(labels)
        assert len(filler) == distance and last == cue
        if noise == "blank":
            assert (filler == blank).all()
        else:
            assert filler.min() >= 1 and filler.max() <= num_symbols
    assert set(np.unique(y)) == set(range(num_symbols))
    assert x.max() < recall_vocab_size(num_symbols) and x.min() >= 1


def test_recall_task_symbol_noise_uses_the_keys_alphabet_and_carries_no_label():
    """Filler symbols cover the keys' whole alphabet and are independent of the first key."""
    x, y = recall_task(8000, 6, num_symbols=4, seed=1)
    filler = x[:, 1:-1]
    assert set(np.unique(filler)) == set(np.unique(x[:, 0])) == {1, 2, 3, 4}
    means = [filler[y[:, 0] == label].mean() for label in range(4)]
    np.testing.assert_allclose(means, 2.5, atol=0.05)


def test_recall_task_is_deterministic_by_seed():
    first, again, other = (recall_task(30, 5, seed=s) for s in (2, 2, 3))

    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_samples": 0, "distance": 5}, "must be >= 1, got 0, 5, 1"),
        ({"num_samples": 5, "distance": 0}, "must be >= 1, got 5, 0, 1"),
        ({"num_samples": 5, "distance": 5, "num_keys": 0}, "must be >= 1, got 5, 5, 0"),
        ({"num_samples": 5, "distance": 5, "num_symbols": 1}, "num_symbols must be >= 2"),
        ({"num_samples": 5, "distance": 5, "noise": "silence"}, 'noise must be "symbols"'),
    ],
)
def test_recall_task_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        recall_task(**kwargs)


# --------------------------------------------------------------------------------------------
# make_date_pairs
# --------------------------------------------------------------------------------------------


def _parse_written_date(source: str, target_year: int) -> datetime.date:
    """An independent parser (strptime) for every format; the century comes from the target."""
    text = re.sub(r"^the (\d+)(st|nd|rd|th) of", r"\1", source)
    for pattern in ("%d %B %Y", "%B %d, %Y", "%A, %d %B %Y", "%d %b %Y", "%B %d %Y", "%d.%m.%Y"):
        try:
            parsed = datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if pattern.startswith("%A"):
            assert parsed.strftime("%A") == text.split(",")[0], f"wrong weekday in {source!r}"
        return parsed
    parsed = datetime.datetime.strptime(text, "%d/%m/%y").date()
    assert len(text) == 8, f"{source!r}: slashes must be zero padded"
    return parsed.replace(year=target_year - target_year % 100 + parsed.year % 100)


def test_date_pairs_targets_are_iso_dates_of_the_written_source():
    sources, targets = make_date_pairs(3000, seed=1)

    assert len(sources) == len(targets) == 3000
    for source, target in zip(sources, targets, strict=True):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", target)
        expected = datetime.date.fromisoformat(target)
        assert 1950 <= expected.year <= 2049
        assert _parse_written_date(source, expected.year) == expected, (source, target)


def test_date_pairs_use_every_format_and_the_documented_examples():
    march_3rd_1999 = datetime.date(1999, 3, 3)
    examples = {name: write(march_3rd_1999) for name, write in DATE_FORMATS.items()}
    assert examples["ordinal"] == "the 3rd of March 1999"
    assert examples["weekday"] == "Wednesday, 3 March 1999"
    assert examples["slashes"] == "03/03/99"
    ordinals = [DATE_FORMATS["ordinal"](datetime.date(2000, 1, d)).split()[1] for d in range(1, 32)]
    assert ordinals[:4] == ["1st", "2nd", "3rd", "4th"]
    assert ordinals[10:13] == ["11th", "12th", "13th"]
    assert ordinals[20:] == ["21st", "22nd", "23rd", *(f"{d}th" for d in range(24, 31)), "31st"]

    sources, targets = make_date_pairs(4000, seed=2)
    used = set()
    for source, target in zip(sources, targets, strict=True):
        day = datetime.date.fromisoformat(target)
        (name,) = [name for name, write in DATE_FORMATS.items() if write(day) == source]
        used.add(name)
    assert used == set(DATE_FORMATS)


def test_two_digit_years_pick_the_century_inside_the_year_range():
    sources, targets = make_date_pairs(20_000, seed=3, first_year=1970, last_year=2069)
    slashes = [(s, t) for s, t in zip(sources, targets, strict=True) if "/" in s]

    assert slashes
    for source, target in slashes:
        assert target[2:4] == source[-2:] and 1970 <= int(target[:4]) <= 2069


def test_date_pairs_are_distinct_and_deterministic_by_seed():
    first, again, other = (make_date_pairs(500, seed=s) for s in (7, 7, 8))

    assert first == again and first != other
    assert len(set(first[0])) == 500


def test_date_pairs_can_exhaust_a_small_range():
    sources, targets = make_date_pairs(365 * len(DATE_FORMATS), first_year=2001, last_year=2001)
    assert len(set(sources)) == 365 * len(DATE_FORMATS) and len(set(targets)) == 365


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_samples": 0}, "num_samples must be between 1 and 292,200"),
        (
            {"num_samples": 10_000, "first_year": 2001, "last_year": 2001},
            r"between 1 and 2,920 \(the distinct sources for 2001..2001\), got 10000",
        ),
        ({"num_samples": 5, "first_year": 2000, "last_year": 1999}, "1 <= first_year <= last_year"),
        ({"num_samples": 5, "first_year": 1900, "last_year": 2000}, "more than 100 years"),
    ],
)
def test_make_date_pairs_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_date_pairs(**kwargs)


def _matched_by_balance(text: str) -> list[int]:
    """Independent reference: ``(`` at i is matched iff some prefix of text[i:] balances to 0;
    ``)`` at j is matched iff some suffix of text[:j+1] balances to 0 (counted backwards)."""
    labels = []
    for i, char in enumerate(text):
        if char == "_":
            labels.append(0)
            continue
        step = {"(": 1, ")": -1} if char == "(" else {")": 1, "(": -1}
        span = text[i:] if char == "(" else text[i::-1]
        balance, matched = 0, 0
        for other in span:
            balance += step.get(other, 0)
            if balance == 0:
                matched = 1
                break
        labels.append(matched)
    return labels


def test_bracket_labels_agree_with_an_independent_balance_reference():
    x, y, weights = bracket_task(num_samples=300, length=25, seed=3)
    for tokens, labels in zip(x, y, strict=True):
        assert labels.tolist() == _matched_by_balance(bracket_string(tokens))
    np.testing.assert_array_equal(weights, (x != FILLER).astype(np.float32))


def test_bracket_task_shapes_dtypes_and_determinism():
    x, y, weights = bracket_task(num_samples=4, length=10, seed=1)
    assert x.shape == y.shape == weights.shape == (4, 10)
    assert x.dtype == np.int32 and y.dtype == np.int64 and weights.dtype == np.float32
    assert set(np.unique(x)) <= {OPEN, CLOSE, FILLER}
    again = bracket_task(num_samples=4, length=10, seed=1)
    for first, second in zip((x, y, weights), again, strict=True):
        np.testing.assert_array_equal(first, second)


def test_bracket_string_renders_a_known_example():
    assert bracket_string(np.array([OPEN, FILLER, CLOSE, CLOSE, OPEN])) == "(_))("


def test_matching_of_an_opening_bracket_depends_on_the_future():
    x, y, _ = bracket_task(num_samples=2000, length=20, seed=0)
    opening = x == OPEN
    matched_share = y[opening].mean()
    assert 0.2 < matched_share < 0.8, "openings must be neither always nor never matched"


def test_bracket_task_rejects_bad_arguments():
    with pytest.raises(ValueError, match="length must be >= 1"):
        bracket_task(num_samples=3, length=0)
    with pytest.raises(ValueError, match=r"bracket_probability must be in \(0, 1\]"):
        bracket_task(num_samples=3, length=5, bracket_probability=0.0)


# --------------------------------------------------------------------------- captioned scenes


def fake_scans(per_digit: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random 8x8 'scans' with ink 1-16 everywhere, ``per_digit`` of each digit."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), per_digit)
    return rng.integers(1, 17, size=(len(labels), 8, 8)).astype(np.float32), labels


@pytest.mark.parametrize(
    ("scene", "text"),
    [
        (tasks.Scene((tasks.SceneObject(7, "large"),), "single"), "a large 7"),
        (
            tasks.Scene((tasks.SceneObject(7, "large"), tasks.SceneObject(2, "small")), "row"),
            "a large 7 to the left of a small 2",
        ),
        (
            tasks.Scene((tasks.SceneObject(4, "small"), tasks.SceneObject(1, "large")), "column"),
            "a small 4 above a large 1",
        ),
        (
            tasks.Scene(
                (
                    tasks.SceneObject(3, "small"),
                    tasks.SceneObject(8, "large"),
                    tasks.SceneObject(0, "small"),
                ),
                "row",
            ),
            "a small 3 , a large 8 and a small 0 in a row",
        ),
    ],
)
def test_caption_and_parse_are_inverse_on_each_form(scene, text):
    assert tasks.caption(scene) == text
    assert tasks.parse_caption(text) == scene


def test_parse_inverts_caption_on_many_random_scenes():
    scans, labels = fake_scans()
    scenes = tasks.make_captioned_scenes(scans, labels, count=2_000, seed=1)
    assert all(tasks.parse_caption(tasks.caption(s)) == s for s in scenes.scenes)
    assert {s.layout for s in scenes.scenes} == {"single", "row", "column"}
    assert {len(s.objects) for s in scenes.scenes} == {1, 2, 3}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected 'a <size> <digit>' at word 1"),
        ("a huge 7", "'huge' is not a size"),
        ("a large seven", "'seven' is not a digit"),
        ("a large 7 beside a small 2", "expected a relation"),
        ("a large 7 above a small 2 and more", "one object after 'above' and nothing more"),
        ("a large 7 , a small 2 and a small 5 in a circle", "'circle' is not a layout"),
        ("a large 7 to the left of an big 2", "expected 'a <size> <digit>' at word 8"),
    ],
)
def test_parse_caption_says_where_a_caption_leaves_the_grammar(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        tasks.parse_caption(text)


def test_caption_rejects_scenes_outside_the_grammar():
    with pytest.raises(ValueError, match="layout that fits their number"):
        tasks.caption(tasks.Scene((tasks.SceneObject(1, "small"),), "row"))
    with pytest.raises(ValueError, match="a digit 0-9 and a size"):
        tasks.caption(tasks.Scene((tasks.SceneObject(1, "medium"),), "single"))


def test_scenes_draw_each_scan_in_its_box_in_the_captioned_order():
    scans, labels = fake_scans()
    result = tasks.make_captioned_scenes(scans, labels, count=300, seed=2)
    for image, scene, boxes, chosen in zip(
        result.images, result.scenes, result.boxes, result.scans, strict=True
    ):
        ink = np.zeros_like(image, dtype=bool)
        for item, scan, (top, left, side) in zip(scene.objects, chosen, boxes, strict=True):
            assert labels[scan] == item.digit and side == {"small": 8, "large": 16}[item.size]
            assert 0 <= top <= 48 - side and 0 <= left <= 48 - side
            patch = np.kron(scans[scan] / 16, np.ones((side // 8, side // 8)))
            np.testing.assert_allclose(image[top : top + side, left : left + side], patch)
            ink[top : top + side, left : left + side] = True
        assert not image[~ink].any()  # nothing outside the boxes
        if scene.layout != "single":  # in reading order, never overlapping along the layout
            axis = 1 if scene.layout == "row" else 0
            starts = [box[axis] for box in boxes]
            ends = [box[axis] + box[2] for box in boxes]
            assert all(end <= start for end, start in zip(ends, starts[1:], strict=False))


def test_scenes_are_the_same_for_the_same_seed():
    scans, labels = fake_scans()
    first = tasks.make_captioned_scenes(scans, labels, count=20, seed=5)
    again = tasks.make_captioned_scenes(scans, labels, count=20, seed=5)
    other = tasks.make_captioned_scenes(scans, labels, count=20, seed=6)
    np.testing.assert_array_equal(first.images, again.images)
    assert first.captions == again.captions != other.captions


def test_held_out_compositions_appear_only_where_asked():
    scans, labels = fake_scans()
    held_out = frozenset({(7, "row", 2), (4, "column", 1), (3, "row", 3)})
    seen = tasks.make_captioned_scenes(scans, labels, 500, seed=3, held_out=held_out)
    unseen = tasks.make_captioned_scenes(
        scans, labels, 50, seed=3, held_out=held_out, held_out_only=True
    )
    assert not any(tasks.compositions(s) & held_out for s in seen.scenes)
    assert all(tasks.compositions(s) & held_out for s in unseen.scenes)
    assert tasks.compositions(
        tasks.parse_caption("a small 3 , a large 8 and a small 0 in a row")
    ) == {
        (3, "row", 8),
        (8, "row", 0),
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(objects=(0, 2)), "objects must satisfy"),
        (dict(objects=(2, 4)), "objects must satisfy"),
        (dict(canvas=40), "use canvas >= 48"),
        (dict(held_out_only=True), "held_out_only needs some held_out"),
        (dict(count=0), "count must be >= 1"),
    ],
)
def test_scene_generator_rejects_bad_arguments(kwargs, message):
    scans, labels = fake_scans()
    with pytest.raises(ValueError, match=message):
        tasks.make_captioned_scenes(scans, labels, **(dict(count=5, seed=0) | kwargs))


def test_scene_generator_needs_every_digit_and_8x8_scans():
    scans, labels = fake_scans()
    with pytest.raises(ValueError, match=re.escape("no example of the digits [9]")):
        tasks.make_captioned_scenes(scans[labels < 9], labels[labels < 9], count=1, seed=0)
    with pytest.raises(ValueError, match="must be"):
        tasks.make_captioned_scenes(scans[:, :4], labels, count=1, seed=0)


def test_split_scans_is_disjoint_complete_and_stratified():
    labels = np.repeat(np.arange(10), 20)
    train, test = tasks.split_scans(labels, test_fraction=0.25, seed=0)
    assert set(train).isdisjoint(test) and len(train) + len(test) == len(labels)
    np.testing.assert_array_equal(np.bincount(labels[test]), np.full(10, 5))
    assert not np.array_equal(test, tasks.split_scans(labels, 0.25, seed=1)[1])
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        tasks.split_scans(labels, 1.0, seed=0)


def test_draw_scan_repeats_pixels_and_is_kron_for_multiples_of_eight():
    scan = np.arange(64, dtype=np.float32).reshape(8, 8)
    np.testing.assert_array_equal(tasks.draw_scan(scan, 16), np.kron(scan, np.ones((2, 2))))
    np.testing.assert_array_equal(tasks.draw_scan(scan, 8), scan)
    medium = tasks.draw_scan(scan, 12)
    assert medium.shape == (12, 12)
    rows = [int(value) // 8 for value in medium[:, 0]]  # which scan row each pixel row shows
    assert rows == sorted(rows) and set(rows) == set(range(8))
    assert sorted(np.bincount(rows)) == [1] * 4 + [2] * 4
    with pytest.raises(ValueError, match="positive number of pixels"):
        tasks.draw_scan(scan, 0)


def test_a_new_size_needs_only_an_entry_in_sizes(monkeypatch):
    monkeypatch.setitem(tasks.SIZES, "medium", 12)
    scans, labels = fake_scans()
    result = tasks.make_captioned_scenes(scans, labels, count=200, seed=4)
    mediums = [
        side
        for scene, boxes in zip(result.scenes, result.boxes, strict=True)
        for item, (_, _, side) in zip(scene.objects, boxes, strict=True)
        if item.size == "medium"
    ]
    assert mediums and set(mediums) == {12}
    assert all(
        tasks.parse_caption(text) == scene
        for text, scene in zip(result.captions, result.scenes, strict=True)
    )
    assert "a medium 3" in tasks.caption(tasks.Scene((tasks.SceneObject(3, "medium"),), "single"))
