"""Synthetic sequence tasks with a known answer, for measuring what recurrent models can learn.

NumPy only. Each generator is seeded, so a notebook's data is the same on every run.
"""

from __future__ import annotations

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
