"""Tests for utils.training."""

import time

import keras
import numpy as np
import pytest

from utils.training import EpochTimer


class _Sleep(keras.callbacks.Callback):
    """Makes every epoch after the first take at least 0.05 s more."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch > 0:
            time.sleep(0.05)


def test_epoch_timer_records_each_epoch_and_skips_the_first_in_the_mean():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    timer = EpochTimer()
    x, y = np.zeros((8, 2)), np.zeros((8, 1))
    model.fit(x, y, epochs=3, verbose=0, callbacks=[_Sleep(), timer])
    assert len(timer.epoch_seconds) == 3
    assert timer.seconds_per_epoch == pytest.approx(np.mean(timer.epoch_seconds[1:]))
    assert timer.seconds_per_epoch >= 0.05


def test_epoch_timer_before_training_raises():
    with pytest.raises(ValueError, match=r"pass the timer to model\.fit"):
        _ = EpochTimer().seconds_per_epoch


def test_median_epoch_time_ignores_the_first_epoch_and_one_slow_epoch():
    timer = EpochTimer()
    timer.epoch_seconds = [9.0, 1.0, 1.2, 30.0, 1.1]  # compiling first epoch, one outlier
    assert timer.median_seconds_per_epoch == pytest.approx(1.15)
    timer.epoch_seconds = [4.0]  # a single epoch is all there is
    assert timer.median_seconds_per_epoch == pytest.approx(4.0)
    with pytest.raises(ValueError, match=r"pass the timer to model\.fit"):
        _ = EpochTimer().median_seconds_per_epoch
