"""Small training aids shared by the notebooks that compare models: timing and result rows."""

from __future__ import annotations

import statistics
import time
from typing import Any

import keras


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
