"""Small training aids shared by the notebooks that compare models: timing, result rows, and the
sentiment recipe that notebook 04 and its solutions train every cell with."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of every training epoch (validation included).

    Seconds per epoch is one of the columns of every results table, so it is measured the same
    way everywhere: ``timer = EpochTimer(); model.fit(..., callbacks=[timer])``, then
    ``timer.seconds_per_epoch``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.epoch_seconds: list[float] = []
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_seconds.append(time.perf_counter() - self._started)

    @property
    def seconds_per_epoch(self) -> float:
        """Median epoch time, leaving out the first epoch (graph tracing) when there are others.

        The median, not the mean: one slow epoch (another process, a garbage collection) moves
        a mean by seconds and a median hardly at all.
        """
        if not self.epoch_seconds:
            raise ValueError("No epoch has finished yet: pass the timer to model.fit first.")
        return statistics.median(self.epoch_seconds[1:] or self.epoch_seconds)


BEST_VALIDATION = {"val_accuracy": max, "val_mae": min}


def results_row(
    label: str,
    model: keras.Model,
    history: keras.callbacks.History,
    timer: EpochTimer,
    **test_metrics: float,
) -> dict[str, Any]:
    """One results-table row for a trained model: what every notebook reports, built one way.

    Args:
        label: the ``model`` column.
        model: the trained model (its parameter count is reported).
        history: what ``fit`` returned; each validation metric it recorded among
            :data:`BEST_VALIDATION` gives a ``best_<metric>`` column (the highest accuracy, the
            lowest error), the number the epoch was chosen by.
        timer: the :class:`EpochTimer` passed to ``fit``.
        **test_metrics: the test-set numbers, measured once (``test_accuracy=...``).
    """
    row: dict[str, Any] = {
        "model": label,
        "params": model.count_params(),
        "seconds_per_epoch": timer.seconds_per_epoch,
    }
    for metric, best in BEST_VALIDATION.items():
        if metric in history.history:
            row[f"best_{metric}"] = best(history.history[metric])
    return {**row, **test_metrics}


Arrays = tuple[np.ndarray, np.ndarray]
"""Inputs and labels of one split."""


def train_sentiment(
    make_layer: Callable[[], keras.layers.Layer],
    name: str,
    train: Arrays,
    validation: Arrays,
    test: Arrays,
    *,
    vocabulary_size: int,
    embedding_dim: int,
    epochs: int,
    seed: int = 42,
    label: str | None = None,
) -> tuple[keras.Model, keras.callbacks.History, dict[str, Any]]:
    """Train ``Embedding → recurrent_layer → Dense(1, sigmoid)`` on word ids and test it once.

    The lecture's many-to-one snippet, trained one way for every cell it compares: the
    embedding masks id 0 (padding), Adam at 2e-3, batches of 64, ``epochs`` epochs, the weights
    of the epoch with the best validation accuracy kept, then one evaluation on ``test``. The
    seed is set before the layer is made, so the same ``seed`` gives the same weights and the
    same batches whatever ran before. (A layer made *before* the seed is set would not: each
    Keras initializer without a seed draws one from Python's ``random`` when the layer is
    constructed, so its weights would depend on what earlier code consumed.)

    Args:
        make_layer: makes a fresh recurrent layer returning its last state, such as
            ``lambda: keras.layers.LSTM(32)``; called after the seed is set.
        name: printed above the training log and used for the model's name.
        train, validation, test: ``(word ids, labels)``, ids of shape ``(reviews, length)``.
        vocabulary_size: the embedding's input size (the vectorizer's ``max_tokens``).
        embedding_dim: the embedding's output size.
        epochs: training epochs.
        seed: the seed for weights and shuffling.
        label: the results row's ``model`` column (default ``name``).

    Returns:
        The model (best validation weights), its history, and a :func:`results_row` with the
        test accuracy and ``seeds: 1``.
    """
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((train[0].shape[1],), dtype="int64"),
            keras.layers.Embedding(
                vocabulary_size, embedding_dim, mask_zero=True, name="embedding"
            ),
            make_layer(),
            keras.layers.Dense(1, activation="sigmoid", name="readout"),
        ],
        name=name.lower().replace(" ", "_"),
    )
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    timer = EpochTimer()
    best = keras.callbacks.EarlyStopping("val_accuracy", patience=epochs, restore_best_weights=True)
    print(f"--- {name}")
    history = model.fit(
        *train,
        validation_data=validation,
        epochs=epochs,
        batch_size=64,
        callbacks=[timer, best],
        verbose=2,
    )
    _, test_accuracy = model.evaluate(*test, verbose=0)
    row = results_row(label or name, model, history, timer, test_accuracy=test_accuracy)
    return model, history, {**row, "seeds": 1}
