"""Small training aids shared by the notebooks that compare models."""

from __future__ import annotations

import statistics
import time

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
        """Mean epoch time, leaving out the first epoch (graph tracing) when there are others."""
        if not self.epoch_seconds:
            raise ValueError("No epoch has finished yet: pass the timer to model.fit first.")
        steady = self.epoch_seconds[1:] or self.epoch_seconds
        return sum(steady) / len(steady)

    @property
    def median_seconds_per_epoch(self) -> float:
        """Median epoch time, leaving out the first epoch (graph tracing) when there are others.

        Robust to the odd slow epoch (another process, a garbage collection), which the mean
        is not.
        """
        if not self.epoch_seconds:
            raise ValueError("No epoch has finished yet: pass the timer to model.fit first.")
        return statistics.median(self.epoch_seconds[1:] or self.epoch_seconds)
