"""Tests for utils.memory: the long-memory benchmark's data, judging and ladder."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from utils.memory import (
    SOLVED_FRACTION,
    STOP_FRACTION,
    Budget,
    MemoryRun,
    StopWhenSolved,
    adding_data,
    adding_model,
    chrono_initialisation,
    climb,
    longest_solved,
    median_longest_solved,
    state_gradient_norms,
    train_on_adding,
)
from utils.tasks import ADDING_TRIVIAL_MSE

TINY = Budget(num_train=64, num_validation=32, num_test=32, max_epochs=2, batch_size=32)


def _run(length: int, relative_mse: float, seed: int = 0) -> MemoryRun:
    return MemoryRun(length, seed, relative_mse * ADDING_TRIVIAL_MSE, 1, 0.1, 10)


def test_solved_means_below_a_tenth_of_the_trivial_mse():
    assert SOLVED_FRACTION == 0.1
    assert _run(10, 0.099).solved and not _run(10, 0.101).solved
    assert _run(10, 0.5).relative_mse == pytest.approx(0.5)


@pytest.mark.parametrize(
    "relative_val_mse, stops", [(0.049, True), (0.051, False), (0.09, False), (0.5, False)]
)
def test_training_stops_only_with_a_margin_below_the_solved_threshold(relative_val_mse, stops):
    """Stopping right under the threshold would leave the test MSE on either side of it."""
    assert STOP_FRACTION == SOLVED_FRACTION / 2
    callback = StopWhenSolved()
    callback.set_model(adding_model(keras.layers.SimpleRNN(2), 3))
    callback.model.stop_training = False
    callback.on_epoch_end(0, {"loss": 0.1, "val_loss": relative_val_mse * ADDING_TRIVIAL_MSE})
    assert callback.model.stop_training is stops


def test_adding_data_depends_on_the_seed_only_and_splits_do_not_overlap():
    (x_train, _), (x_val, _), (x_test, _) = adding_data(20, seed=4, budget=TINY)
    (again, _), _, _ = adding_data(20, seed=4, budget=TINY)
    (other, _), _, _ = adding_data(20, seed=5, budget=TINY)
    np.testing.assert_array_equal(x_train, again)
    assert not np.array_equal(x_train, other)
    assert x_train.shape == (64, 20, 2) and x_val.shape == x_test.shape == (32, 20, 2)
    assert not np.array_equal(x_val, x_test)


def test_adding_model_reads_the_last_state_into_one_number():
    model = adding_model(keras.layers.SimpleRNN(3), 7)
    assert model.input_shape == (None, 7, 2) and model.output_shape == (None, 1)


def test_train_on_adding_reports_a_reproducible_run():
    first, model = train_on_adding(lambda: keras.layers.GRU(4), 6, seed=1, budget=TINY)
    again, _ = train_on_adding(lambda: keras.layers.GRU(4), 6, seed=1, budget=TINY)
    assert first.length == 6 and first.seed == 1 and 1 <= first.epochs <= TINY.max_epochs
    assert first.params == 3 * (4 * (2 + 4) + 2 * 4)  # GRU(4) on 2 features, reset_after
    assert first.test_mse == pytest.approx(again.test_mse, rel=1e-5)
    _, (x_test, y_test) = adding_data(6, 1, TINY)[1:]
    mse = float(np.mean((model.predict(x_test, verbose=0)[:, 0] - y_test) ** 2))
    assert first.test_mse == pytest.approx(mse, rel=1e-4)


def test_adjust_is_applied_before_training():
    seen = []

    def zero_kernel(layer, length):
        seen.append(length)
        layer.cell.kernel.assign(np.zeros(layer.cell.kernel.shape))

    budget = Budget(num_train=8, num_validation=8, num_test=8, max_epochs=1, learning_rate=0.0)
    _, model = train_on_adding(lambda: keras.layers.SimpleRNN(2), 5, 0, budget, zero_kernel)
    assert seen == [5]
    np.testing.assert_array_equal(model.layers[1].cell.kernel.numpy(), 0.0)


@pytest.mark.parametrize("clipnorm", [1.0, None])
def test_the_budget_sets_the_optimizers_clipping(clipnorm):
    budget = Budget(num_train=8, num_validation=8, num_test=8, max_epochs=1, clipnorm=clipnorm)
    _, model = train_on_adding(lambda: keras.layers.SimpleRNN(2), 5, 0, budget)
    assert model.optimizer.clipnorm == clipnorm


def test_climb_stops_at_the_first_failure(monkeypatch):
    outcomes = {10: 0.01, 20: 0.05, 40: 0.5, 80: 0.01}
    calls = []

    def fake_train(make_layer, length, seed, budget, adjust):
        calls.append(length)
        return _run(length, outcomes[length], seed), None

    monkeypatch.setattr("utils.memory.train_on_adding", fake_train)
    reported = []
    runs = climb(lambda: None, [10, 20, 40, 80], seed=3, report=reported.append)
    assert calls == [10, 20, 40] and reported == runs
    assert longest_solved(runs) == 20


def test_climb_rejects_lengths_out_of_order():
    with pytest.raises(ValueError, match="increasing and distinct"):
        climb(lambda: None, [50, 25], seed=0)


def test_longest_solved_and_its_median_over_seeds():
    assert longest_solved([_run(25, 0.5)]) == 0
    climbs = [
        [_run(25, 0.0), _run(50, 0.0), _run(100, 0.9)],
        [_run(25, 0.0), _run(50, 0.9)],
        [_run(25, 0.0), _run(50, 0.0), _run(100, 0.0)],
    ]
    assert [longest_solved(c) for c in climbs] == [50, 25, 100]
    assert median_longest_solved(climbs) == 50
    with pytest.raises(ValueError, match="at least one seed"):
        median_longest_solved([])


def test_chrono_initialisation_sets_log_uniform_forget_biases_and_opposite_input_biases():
    layer = keras.layers.LSTM(50)
    layer.build((None, None, 2))
    kernel_before = layer.cell.kernel.numpy().copy()
    chrono_initialisation(layer, length=100, seed=3)
    bias = layer.cell.bias.numpy()
    input_bias, forget_bias, rest = bias[:50], bias[50:100], bias[100:]
    np.testing.assert_allclose(input_bias, -forget_bias)
    np.testing.assert_array_equal(rest, 0.0)
    assert forget_bias.min() >= 0.0 and forget_bias.max() <= np.log(99) + 1e-6
    # Time constants u = exp(b) are spread over [1, 99]: some short memories, some long.
    assert np.exp(forget_bias).min() < 10 and np.exp(forget_bias).max() > 50
    np.testing.assert_array_equal(layer.cell.kernel.numpy(), kernel_before)
    again = keras.layers.LSTM(50)
    again.build((None, None, 2))
    chrono_initialisation(again, length=100, seed=3)
    np.testing.assert_array_equal(again.cell.bias.numpy(), bias)


@pytest.mark.parametrize("scale", [0.5, 0.9, 1.2])
def test_state_gradient_norms_of_a_linear_rnn_are_powers_of_its_recurrent_scale(scale):
    """With h_t = a * h_{t-1} + W x_t, d(u . h_T)/dh_k = a^(T-k) u, whose norm is a^(T-k)."""
    units, steps = 4, 6
    layer = keras.layers.SimpleRNN(units, activation=None)
    layer.build((None, steps, 2))
    kernel, _, bias = layer.get_weights()
    layer.set_weights([kernel, scale * np.eye(units, dtype="float32"), bias])
    direction = np.full((units, 1), 0.5, dtype="float32")  # a unit vector
    x = np.random.default_rng(0).normal(size=(3, steps, 2)).astype("float32")

    norms = state_gradient_norms(layer, x, direction)

    np.testing.assert_allclose(norms, scale ** np.arange(1, steps + 1), rtol=1e-5)


def test_state_gradient_norms_count_both_lstm_states():
    """An LSTM has two states (h_k, C_k): the measurement runs through both, one norm per step."""
    keras.utils.set_random_seed(0)
    layer = keras.layers.LSTM(3)
    layer.build((None, 5, 2))
    x = np.random.default_rng(1).normal(size=(2, 5, 2)).astype("float32")
    norms = state_gradient_norms(layer, x, np.ones((3, 1), dtype="float32") / np.sqrt(3))
    assert norms.shape == (5,)
    assert np.all(norms > 0)


def test_state_gradient_norms_reject_a_direction_of_the_wrong_size():
    layer = keras.layers.GRU(3)
    layer.build((None, 4, 2))
    with pytest.raises(ValueError, match=r"direction must have shape \(units, 1\) = \(3, 1\)"):
        state_gradient_norms(layer, np.zeros((1, 4, 2), "float32"), np.ones((4, 1)))
