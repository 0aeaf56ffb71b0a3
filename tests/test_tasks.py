"""The synthetic tasks produce the data their docstrings promise, reproducibly."""

from __future__ import annotations

import numpy as np
import pytest

from utils.tasks import long_range_task


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
