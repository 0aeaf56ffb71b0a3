"""Tests for utils.training."""

import random
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils.training import (
    DisconnectAfter,
    DisconnectError,
    EpochTimer,
    LearningRateRangeTest,
    interleaved_timings,
    results_row,
    seconds_per_epoch,
    sentiment_classifier,
    train_sentiment,
)


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


CLASSIFIER = {"vocabulary_size": 20, "sequence_length": 6, "embedding_dim": 4}


def test_sentiment_classifier_builds_the_model_in_order_with_the_optimizer_asked_for():
    model = sentiment_classifier(
        lambda: keras.layers.GRU(3), **CLASSIFIER, learning_rate=0.01, clipnorm=0.5
    )

    assert [type(layer).__name__ for layer in model.layers] == ["Embedding", "GRU", "Dense"]
    assert model.layers[0].mask_zero and model.layers[-1].compute_dtype == "float32"
    assert model.output_shape == (None, 1) and model.loss == "binary_crossentropy"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert np.isclose(float(model.optimizer.learning_rate), 0.01)
    assert model.optimizer.clipnorm == 0.5


def test_sentiment_classifier_weights_follow_the_seed_set_before_the_call():
    def weights(seed: int) -> list[np.ndarray]:
        keras.utils.set_random_seed(seed)
        random_state = random.getstate()
        model = sentiment_classifier(lambda: keras.layers.GRU(3), **CLASSIFIER)
        assert random.getstate() != random_state  # the layers drew their seeds in the call
        return model.get_weights()

    first, again, other = weights(1), weights(1), weights(2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_range_test_recovers_each_batch_loss_from_keras_running_means():
    range_test = LearningRateRangeTest(1e-4, 1.0, 5)
    losses = np.array([0.7, 0.6, 0.3, 0.9, 2.0])
    range_test.running_means = list(np.cumsum(losses) / np.arange(1, 6))

    np.testing.assert_allclose(range_test.batch_losses, losses)
    np.testing.assert_allclose(range_test.rates, [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    assert range_test.smoothed_losses(beta=0.0).tolist() == pytest.approx(losses.tolist())
    # The bias correction keeps a constant loss constant from the first step on.
    range_test.running_means = [0.5] * 5
    np.testing.assert_allclose(range_test.smoothed_losses(), 0.5)


def test_range_test_reports_the_rate_at_the_smoothed_minimum():
    range_test = LearningRateRangeTest(1e-4, 1.0, 5)
    losses = np.array([1.0, 1.0, 0.2, 3.0, 3.0])
    range_test.running_means = list(np.cumsum(losses) / np.arange(1, 6))

    assert range_test.lowest_loss_rate == pytest.approx(1e-2)


def test_range_test_sets_one_rate_per_batch_during_fit():
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(float(self.model.optimizer.learning_rate))

    range_test = LearningRateRangeTest(1e-3, 1e-1, 3)
    x, y = np.ones((6, 2), "float32"), np.zeros((6, 1), "float32")
    tiny_model().fit(x, y, batch_size=2, epochs=1, callbacks=[range_test, Record()], verbose=0)

    np.testing.assert_allclose(seen, [1e-3, 1e-2, 1e-1], rtol=1e-6)
    assert len(range_test.batch_losses) == 3


def test_range_test_says_how_to_call_it():
    with pytest.raises(ValueError, match="0 < low < high"):
        LearningRateRangeTest(1.0, 1e-3, 10)
    with pytest.raises(ValueError, match=r"pass the range test to model\.fit"):
        _ = LearningRateRangeTest(1e-3, 1.0, 10).lowest_loss_rate
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    with pytest.raises(RuntimeError, match="steps_per_epoch=3"):
        tiny_model().fit(
            x, y, batch_size=2, epochs=1, callbacks=[LearningRateRangeTest(0.1, 1, 3)], verbose=0
        )


def _ones_dataset() -> tf.data.Dataset:
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(2)


def test_interleaved_timings_take_turns_and_seed_every_run():
    calls, first_weights = [], {}

    def build(name: str):
        def make() -> keras.Model:
            calls.append(name)
            model = tiny_model()
            first_weights.setdefault(name, []).append(model.get_weights()[0].copy())
            return model

        return make

    seconds = interleaved_timings(
        {"a": build("a"), "b": build("b")}, _ones_dataset, repeats=2, epochs=2
    )

    assert calls == ["a", "b", "a", "b"]
    assert {name: len(values) for name, values in seconds.items()} == {"a": 2, "b": 2}
    assert all(value > 0 for values in seconds.values() for value in values)
    np.testing.assert_array_equal(*first_weights["a"])  # the same seed for every run


def test_seconds_per_epoch_trains_a_fresh_model_and_times_it():
    built = []

    def build() -> keras.Model:
        built.append(tiny_model())
        return built[-1]

    seconds = seconds_per_epoch(build, _ones_dataset(), epochs=3)
    assert len(built) == 1 and len(built[0].history.epoch) == 3
    assert 0 < seconds < 5


def test_disconnect_after_stops_fit_at_the_end_of_the_given_epoch():
    timer = EpochTimer()
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    with pytest.raises(DisconnectError, match="connection lost after epoch 2"):
        tiny_model().fit(x, y, epochs=5, callbacks=[timer, DisconnectAfter(2)], verbose=0)
    assert len(timer.epoch_seconds) == 2
