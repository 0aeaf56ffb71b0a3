"""Small training aids shared by the notebooks that compare models and by their solutions: timing,
result rows, the sentiment recipes of notebooks 04 and 10, the learning-rate range test, and the
simulated disconnect that notebook 10's checkpoint section survives."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

Data = Any
"""Whatever ``keras.Model.fit`` accepts as its first argument (a ``tf.data.Dataset``, a
``keras.utils.PyDataset`` ...)."""


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


def sentiment_classifier(
    make_recurrent: Callable[[], keras.layers.Layer],
    *,
    vocabulary_size: int,
    sequence_length: int,
    embedding_dim: int,
    learning_rate: float = 1e-3,
    **optimizer_args: Any,
) -> keras.Model:
    """``Embedding(mask_zero) → recurrent layer → Dense(1, sigmoid)``, compiled with Adam.

    Notebook 10's model, one function so that each of its sections (and their solutions) can
    change one thing: the recurrent layer, the learning rate or an optimizer argument such as
    ``clipnorm``. The layers are made in order, the recurrent one after the embedding, so that a
    seed set before the call fixes every weight. The output layer computes in float32, as mixed
    precision needs.

    Args:
        make_recurrent: makes the recurrent layer (returning its last state), for example
            ``lambda: keras.layers.GRU(32)``.
        vocabulary_size: the embedding's input size (the vectorizer's ``max_tokens``).
        sequence_length: word ids per review.
        embedding_dim: the embedding's output size.
        learning_rate: Adam's learning rate.
        **optimizer_args: passed on to ``keras.optimizers.Adam`` (``clipnorm=1.0`` ...).
    """
    model = keras.Sequential(
        [
            keras.Input((sequence_length,), dtype="int64"),
            keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True),
            make_recurrent(),
            keras.layers.Dense(1, activation="sigmoid", dtype="float32"),
        ]
    )
    optimizer = keras.optimizers.Adam(learning_rate, **optimizer_args)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


class LearningRateRangeTest(keras.callbacks.Callback):
    """The learning-rate range test (Smith, 2017): the rate rises geometrically, batch by batch.

    Train one epoch of ``steps`` batches with this callback; batch ``i`` runs at
    ``rates[i]``, from ``low`` to ``high``. The loss stays flat while the rate is too small to
    matter, falls where learning happens and shoots up where steps overshoot.
    :attr:`batch_losses` is each batch's own loss, :meth:`smoothed_losses` its bias-corrected
    moving average, and :attr:`lowest_loss_rate` the rate at the bottom of that curve (a good
    rate lies somewhat below it; notebook 10 takes a tenth).
    """

    def __init__(self, low: float, high: float, steps: int) -> None:
        super().__init__()
        if not 0 < low < high or steps < 2:
            raise ValueError(
                f"Need 0 < low < high and at least 2 steps, got low={low}, high={high}, "
                f"steps={steps}."
            )
        self.rates = np.geomspace(low, high, steps)
        self.running_means: list[float] = []

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if len(self.running_means) >= len(self.rates):
            raise RuntimeError(
                f"The range test has {len(self.rates)} rates: pass steps_per_epoch="
                f"{len(self.rates)} and epochs=1 to fit."
            )
        self.model.optimizer.learning_rate.assign(self.rates[len(self.running_means)])

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.running_means.append(float(logs["loss"]))

    @property
    def batch_losses(self) -> np.ndarray:
        """Each batch's loss. Keras reports the running mean of the epoch so far; the mean of
        ``k`` batches times ``k``, minus the same for ``k - 1``, is batch ``k``'s own loss."""
        means = np.array(self.running_means)
        return np.r_[means[:1], np.diff(means * np.arange(1, len(means) + 1))]

    def smoothed_losses(self, beta: float = 0.9) -> np.ndarray:
        """The batch losses' exponential moving average, divided by ``1 - beta**k`` so that the
        first steps are not pulled towards the average's start at 0."""
        smoothed, average = [], 0.0
        for step, loss in enumerate(self.batch_losses, start=1):
            average = beta * average + (1 - beta) * loss
            smoothed.append(average / (1 - beta**step))
        return np.array(smoothed)

    @property
    def lowest_loss_rate(self) -> float:
        """The rate at which the smoothed loss was lowest."""
        if not self.running_means:
            raise ValueError("No batch has run yet: pass the range test to model.fit first.")
        return float(self.rates[np.nanargmin(self.smoothed_losses())])


def seconds_per_epoch(build: Callable[[], keras.Model], data: Data, epochs: int) -> float:
    """Seconds per epoch of one fresh model from ``build``: :attr:`EpochTimer.seconds_per_epoch`
    (the median epoch, the first, tracing one, left out)."""
    timer = EpochTimer()
    build().fit(data, epochs=epochs, callbacks=[timer], verbose=0)
    return timer.seconds_per_epoch


def interleaved_timings(
    builds: dict[str, Callable[[], keras.Model]],
    make_data: Callable[[], Data],
    *,
    repeats: int,
    epochs: int,
    seed: int = 42,
) -> dict[str, list[float]]:
    """Time every build ``repeats`` times, taking turns, each run from the same seed.

    One timing misleads on a shared machine; taking turns (one run of each build, then the
    next round) lets a slow spell of the machine hit every build alike, so the per-round ratios
    and their range can be read. ``make_data`` gives a fresh dataset for every run.

    Returns:
        build name -> its seconds per epoch, one per round.
    """
    seconds: dict[str, list[float]] = {name: [] for name in builds}
    for _ in range(repeats):
        for name, build in builds.items():
            keras.utils.set_random_seed(seed)
            seconds[name].append(seconds_per_epoch(build, make_data(), epochs))
    return seconds


class DisconnectError(Exception):
    """Stands for whatever ends a Colab session in the middle of ``fit``."""


class DisconnectAfter(keras.callbacks.Callback):
    """Stops training with :class:`DisconnectError` at the end of epoch ``epochs`` (from 1), as
    a lost session would, so that a checkpointed run can be shown to resume."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 == self.epochs:
            raise DisconnectError(f"connection lost after epoch {epoch + 1}")
