"""Tests for utils.forecasting."""

import random

import numpy as np
import pytest

from utils.forecasting import (
    KINDS,
    Windows,
    build_forecaster,
    change_targets,
    future,
    mae_by_horizon,
    seasonal_baselines,
    train_forecaster,
)


def test_change_targets_are_changes_from_the_origin_with_nan_past_the_end():
    levels = np.array([1.0, 2.0, 4.0, 7.0])
    changes = change_targets(levels, 2)

    np.testing.assert_array_equal(changes[:2], [[1.0, 3.0], [2.0, 5.0]])
    np.testing.assert_array_equal(changes[2], [3.0, np.nan])
    assert np.isnan(changes[3]).all() and changes.dtype == np.float32


def test_change_targets_reject_what_is_not_a_series():
    with pytest.raises(ValueError, match="1-D series"):
        change_targets(np.zeros((3, 2)), 1)
    with pytest.raises(ValueError, match="horizon of at least 1"):
        change_targets(np.zeros(3), 0)


def test_future_lists_the_values_after_each_origin():
    levels = np.arange(10.0)
    np.testing.assert_array_equal(future(levels, np.array([2, 5]), 3), [[3, 4, 5], [6, 7, 8]])


def _trend_and_cycle(steps: int = 60, season: int = 12) -> np.ndarray:
    t = np.arange(steps)
    return 0.5 * t + np.sin(2 * np.pi * t / season) + np.cos(4 * np.pi * t / season)


def test_seasonal_change_forecast_is_exact_for_a_linear_trend_plus_a_cycle():
    levels, origins = _trend_and_cycle(), np.arange(20, 40)
    forecasts = seasonal_baselines(levels, origins, horizon=5, season=12)
    truth = future(levels, origins, 5)

    np.testing.assert_allclose(forecasts["seasonal change"], truth, atol=1e-12)
    # The seasonal naive forecast is off by one season of trend: 0.5 * 12 at every horizon.
    np.testing.assert_allclose(truth - forecasts["seasonal naive"], 6.0, atol=1e-12)
    np.testing.assert_array_equal(forecasts["naive (last value)"][:, 3], levels[origins])


def test_seasonal_baselines_refuse_a_horizon_that_would_read_the_future():
    with pytest.raises(ValueError, match="at most 12"):
        seasonal_baselines(_trend_and_cycle(), np.arange(20, 30), horizon=13, season=12)


def test_mae_by_horizon_scores_each_horizon_and_a_shorter_forecast_on_the_first_ones():
    truth = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    forecast = np.array([[2.0, 2.0], [0.0, 4.0]])

    np.testing.assert_array_equal(mae_by_horizon(forecast, truth), [1.0, 1.0])
    np.testing.assert_array_equal(mae_by_horizon(forecast[:, :1], truth), [1.0])
    with pytest.raises(ValueError, match="same origins"):
        mae_by_horizon(forecast, truth[:1])


def _windows(window: int = 4, steps: int = 30, horizon: int = 3) -> Windows:
    steps_index = np.arange(steps, dtype="float32")
    features = np.stack([steps_index, -steps_index], axis=1)
    targets = np.stack([steps_index * 10 + h for h in range(1, horizon + 1)], axis=1)
    return Windows(features, targets, window=window, batch_size=8)


def test_windows_origins_keep_every_target_inside_the_split():
    windows = _windows()
    np.testing.assert_array_equal(windows.origins(0, 12), np.arange(3, 9))  # t + 3 < 12
    np.testing.assert_array_equal(windows.origins(20, 30), np.arange(19, 27))  # t + 1 >= 20
    assert windows.horizon == 3


@pytest.mark.parametrize("outputs", [None, 1])
def test_windows_pair_each_origin_with_its_past_and_its_targets(outputs):
    windows = _windows()
    origins = windows.origins(12, 30)
    inputs, targets = (
        np.concatenate(parts)
        for parts in zip(*windows.dataset(12, 30, outputs).as_numpy_iterator(), strict=True)
    )

    assert len(inputs) == len(origins)
    for sample, t in enumerate(origins):
        np.testing.assert_array_equal(inputs[sample], windows.features[t - 3 : t + 1])
        np.testing.assert_array_equal(targets[sample], windows.targets[t, : outputs or 3])


def test_windows_shuffle_keeps_the_pairs():
    windows = _windows()
    inputs, targets = (
        np.concatenate(parts)
        for parts in zip(*windows.dataset(0, 30, shuffle=True).as_numpy_iterator(), strict=True)
    )
    assert not np.array_equal(inputs[:, -1, 0], np.sort(inputs[:, -1, 0]))  # shuffled
    np.testing.assert_array_equal(targets[:, 0], inputs[:, -1, 0] * 10 + 1)  # still paired


def test_windows_say_what_is_wrong():
    with pytest.raises(ValueError, match="one row per step"):
        Windows(np.zeros((5, 1)), np.zeros((4, 1)), window=2)
    with pytest.raises(ValueError, match="window must be from 1 to 4"):
        Windows(np.zeros((5, 1)), np.zeros((5, 1)), window=5)
    with pytest.raises(ValueError, match="shorten the window"):
        _windows(window=10).dataset(0, 12)


@pytest.mark.parametrize("kind", KINDS)
def test_build_forecaster_outputs_every_horizon(kind):
    model = build_forecaster(kind, window=6, num_features=3, horizon=4, units=5)
    assert model.output_shape == (None, 4) and model.name == f"{kind}_4"
    assert model.predict(np.zeros((2, 6, 3), "float32"), verbose=0).shape == (2, 4)


def test_build_forecaster_matches_notebook_09s_parameter_counts():
    counts = {kind: build_forecaster(kind, 104, 3, 1).count_params() for kind in KINDS}
    assert counts == {"Dense": 10049, "GRU": 3585, "LSTM": 4641}
    with pytest.raises(ValueError, match="Unknown forecaster 'RNN'"):
        build_forecaster("RNN", 104, 3, 1)


def test_train_forecaster_keeps_the_best_epoch_and_repeats_by_seed():
    windows = _windows(steps=60)
    scaled = Windows(windows.features / 60, windows.targets / 600, window=4, batch_size=8)
    validation = scaled.dataset(40, 60)

    def run(seed: int):
        return train_forecaster(
            lambda: build_forecaster("GRU", 4, 2, 3, units=4),
            lambda: scaled.dataset(0, 40, shuffle=True),
            validation,
            epochs=4,
            patience=4,
            seed=seed,
        )

    model, history, seconds = run(1)
    assert len(history.epoch) == 4 and seconds > 0
    assert model.evaluate(validation, verbose=0) == pytest.approx(
        min(history.history["val_loss"]), rel=1e-5
    )
    random.random()  # whatever ran in between must not matter
    _, again, _ = run(1)
    _, other, _ = run(2)
    assert again.history["loss"] == history.history["loss"]
    assert other.history["loss"] != history.history["loss"]
