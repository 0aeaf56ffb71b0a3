"""Tests for utils.training."""

import random
import time

import keras
import numpy as np
import pytest

from utils.training import EpochTimer, results_row, train_sentiment


class _Sleep(keras.callbacks.Callback):
    """Makes every epoch after the first take at least 0.05 s more."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch > 0:
            time.sleep(0.05)


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


def test_epoch_timer_records_each_epoch_and_reports_the_median_after_the_first():
    timer = EpochTimer()
    x, y = np.zeros((8, 2)), np.zeros((8, 1))
    tiny_model().fit(x, y, epochs=4, verbose=0, callbacks=[_Sleep(), timer])
    assert len(timer.epoch_seconds) == 4
    assert timer.seconds_per_epoch == pytest.approx(np.median(timer.epoch_seconds[1:]))
    assert timer.seconds_per_epoch >= 0.05


def test_epoch_timer_before_training_raises():
    with pytest.raises(ValueError, match=r"pass the timer to model\.fit"):
        _ = EpochTimer().seconds_per_epoch


def test_epoch_time_ignores_the_first_epoch_and_one_slow_epoch():
    timer = EpochTimer()
    timer.epoch_seconds = [9.0, 1.0, 1.2, 30.0, 1.1]  # compiling first epoch, one outlier
    assert timer.seconds_per_epoch == pytest.approx(1.15)
    timer.epoch_seconds = [4.0]  # a single epoch is all there is
    assert timer.seconds_per_epoch == pytest.approx(4.0)


def test_results_row_reports_params_median_time_best_validation_and_test_metrics():
    model, timer = tiny_model(), EpochTimer()
    x = np.random.default_rng(0).normal(size=(16, 2))
    history = model.fit(
        x, x.sum(axis=1), validation_split=0.25, epochs=3, verbose=0, callbacks=[timer]
    )
    history.history["val_accuracy"] = [0.5, 0.75, 0.625]  # as a classifier would record it

    row = results_row("tiny", model, history, timer, test_mae=0.25)

    assert list(row) == [
        "model",
        "params",
        "seconds_per_epoch",
        "best_val_accuracy",
        "best_val_mae",
        "test_mae",
    ]
    assert row["model"] == "tiny" and row["params"] == 3
    assert row["seconds_per_epoch"] == timer.seconds_per_epoch
    assert row["best_val_accuracy"] == 0.75  # the highest accuracy
    assert row["best_val_mae"] == min(history.history["val_mae"])  # the lowest error
    assert row["test_mae"] == 0.25


def _word_ids(seed: int, reviews: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Reviews of 12 ids in which id 1 marks a positive review, so there is something to learn."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, reviews)
    ids = rng.integers(2, 20, (reviews, 12))
    ids[labels == 1, 3] = 1
    ids[:, 10:] = 0  # padding on the right
    return ids, labels.astype("float32")


def test_train_sentiment_builds_the_lectures_model_and_is_reproducible_by_seed(capsys):
    data = _word_ids(0), _word_ids(1), _word_ids(2)
    settings = {"vocabulary_size": 20, "embedding_dim": 4, "epochs": 2}
    model, history, row = train_sentiment(
        lambda: keras.layers.LSTM(5), "Tiny LSTM", *data, **settings, label="LSTM(5)"
    )

    assert [type(layer).__name__ for layer in model.layers] == ["Embedding", "LSTM", "Dense"]
    assert model.layers[0].mask_zero and model.name == "tiny_lstm"
    assert capsys.readouterr().out.startswith("--- Tiny LSTM")
    assert row["model"] == "LSTM(5)" and row["seeds"] == 1
    assert len(history.history["val_accuracy"]) == 2
    assert row["best_val_accuracy"] == max(history.history["val_accuracy"])
    _, test_accuracy = model.evaluate(*data[2], verbose=0)
    assert row["test_accuracy"] == test_accuracy  # the kept (best validation) weights, tested

    random.random()  # whatever ran in between must not matter
    _, again, again_row = train_sentiment(
        lambda: keras.layers.LSTM(5), "Tiny LSTM", *data, **settings
    )
    _, other_seed, _ = train_sentiment(
        lambda: keras.layers.LSTM(5), "Tiny", *data, **settings, seed=7
    )
    assert again_row["model"] == "Tiny LSTM"  # the name, when no label is given
    assert again.history["loss"] == history.history["loss"]  # same seed: same weights, batches
    assert other_seed.history["loss"] != history.history["loss"]
