"""lstm_forward and gru_forward compute exactly what keras.layers.LSTM and keras.layers.GRU do."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from utils.numpy_rnn import LSTM_TRACE_KEYS, gru_forward, lstm_forward, lstm_trace

SHAPES = [  # (batch, steps, features, units)
    (1, 1, 1, 1),
    (2, 7, 3, 4),
    (3, 12, 5, 2),
    (4, 5, 2, 9),
]


def _randomise(layer: keras.layers.Layer, features: int, seed: int) -> keras.layers.Layer:
    """Build ``layer`` and replace every weight (biases included) with random numbers."""
    layer.build((None, None, features))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def _inputs(batch: int, steps: int, features: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (batch, steps, features)).astype("float32")


# --------------------------------------------------------------------------------------------
# LSTM
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("batch", "steps", "features", "units"), SHAPES)
def test_lstm_forward_matches_keras(batch, steps, features, units):
    layer = keras.layers.LSTM(units, return_sequences=True, return_state=True)
    _randomise(layer, features, seed=units)
    x = _inputs(batch, steps, features)
    outputs, last_h, last_c = (np.asarray(a) for a in layer(x))

    ours = lstm_forward(x, *layer.get_weights())

    for got, expected in zip(ours, (outputs, last_h, last_c), strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_lstm_forward_with_initial_states_matches_keras():
    batch, steps, features, units = 3, 6, 4, 5
    layer = _randomise(keras.layers.LSTM(units, return_sequences=True, return_state=True), 4, 7)
    x = _inputs(batch, steps, features)
    rng = np.random.default_rng(3)
    h0, c0 = (rng.normal(0, 1, (batch, units)).astype("float32") for _ in range(2))
    expected = layer(x, initial_state=[h0, c0])

    ours = lstm_forward(x, *layer.get_weights(), h0=h0, c0=c0)

    for got, want in zip(ours, expected, strict=True):
        np.testing.assert_allclose(got, np.asarray(want), rtol=0, atol=1e-5)
    # The initial cell state matters: starting from zeros gives a different answer.
    assert not np.allclose(lstm_forward(x, *layer.get_weights(), h0=h0)[2], ours[2], atol=1e-3)


def test_lstm_forward_without_bias_matches_use_bias_false():
    layer = keras.layers.LSTM(3, use_bias=False, return_sequences=True)
    _randomise(layer, 2, seed=5)
    x = _inputs(2, 4, 2)
    kernel, recurrent_kernel = layer.get_weights()

    outputs, _, _ = lstm_forward(x, kernel, recurrent_kernel, None)

    np.testing.assert_allclose(outputs, np.asarray(layer(x)), rtol=0, atol=1e-5)


def test_lstm_forward_follows_the_lecture_equations_for_one_step():
    """One step by hand, with the gates in Keras's i, f, c, o order."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 1, 2))
    kernel, recurrent_kernel, bias = (rng.normal(size=s) for s in [(2, 8), (2, 8), (8,)])
    h0, c0 = rng.normal(size=(1, 2)), rng.normal(size=(1, 2))
    a = x[:, 0] @ kernel + h0 @ recurrent_kernel + bias

    def sigma(v):
        return 1 / (1 + np.exp(-v))

    i, f, o = sigma(a[:, 0:2]), sigma(a[:, 2:4]), sigma(a[:, 6:8])
    c = f * c0 + i * np.tanh(a[:, 4:6])

    _, h, c_ours = lstm_forward(x, kernel, recurrent_kernel, bias, h0=h0, c0=c0)

    np.testing.assert_allclose(c_ours, c, rtol=1e-12)
    np.testing.assert_allclose(h, o * np.tanh(c), rtol=1e-12)


def test_lstm_trace_records_the_lecture_gates_and_every_cell_state_keras_reaches():
    """Each step's gates are the lecture's sigmoids, and C_t is Keras's state after t + 1 steps."""
    layer = _randomise(keras.layers.LSTM(3, return_state=True), features=2, seed=4)
    kernel, recurrent_kernel, bias = layer.get_weights()
    x = _inputs(2, 6, 2)
    trace = lstm_trace(x, kernel, recurrent_kernel, bias)
    assert set(trace) == set(LSTM_TRACE_KEYS)
    assert all(value.shape == (2, 6, 3) for value in trace.values())

    for t in range(6):
        _, keras_h, keras_c = layer(x[:, : t + 1])
        np.testing.assert_allclose(trace["h"][:, t], keras_h, atol=1e-5)
        np.testing.assert_allclose(trace["C"][:, t], keras_c, atol=1e-5)
        h_prev = trace["h"][:, t - 1] if t else np.zeros((2, 3))
        c_prev = trace["C"][:, t - 1] if t else np.zeros((2, 3))
        a = x[:, t] @ kernel + h_prev @ recurrent_kernel + bias
        gate = {name: 1 / (1 + np.exp(-a[:, k * 3 : (k + 1) * 3])) for k, name in enumerate("ifco")}
        for name in "fio":
            np.testing.assert_allclose(trace[name][:, t], gate[name], atol=1e-6)
        candidate = np.tanh(a[:, 6:9])
        np.testing.assert_allclose(
            trace["C"][:, t], gate["f"] * c_prev + gate["i"] * candidate, atol=1e-6
        )


def test_lstm_forward_is_the_traces_hidden_states_and_last_cell_state():
    rng = np.random.default_rng(2)
    weights = [rng.normal(size=s) for s in [(2, 12), (3, 12), (12,)]]
    x = rng.normal(size=(4, 5, 2))
    trace = lstm_trace(x, *weights)
    outputs, last_h, last_c = lstm_forward(x, *weights)
    np.testing.assert_array_equal(outputs, trace["h"])
    np.testing.assert_array_equal(last_h, trace["h"][:, -1])
    np.testing.assert_array_equal(last_c, trace["C"][:, -1])


# --------------------------------------------------------------------------------------------
# GRU
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize(("batch", "steps", "features", "units"), SHAPES)
def test_gru_forward_matches_keras(batch, steps, features, units, reset_after):
    layer = keras.layers.GRU(
        units, reset_after=reset_after, return_sequences=True, return_state=True
    )
    _randomise(layer, features, seed=units + reset_after)
    x = _inputs(batch, steps, features)
    outputs, last_h = (np.asarray(a) for a in layer(x))

    ours = gru_forward(x, *layer.get_weights(), reset_after=reset_after)

    np.testing.assert_allclose(ours[0], outputs, rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours[1], last_h, rtol=0, atol=1e-5)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_forward_with_initial_state_and_without_bias(reset_after):
    batch, steps, features, units = 2, 5, 3, 4
    x = _inputs(batch, steps, features)
    h0 = np.random.default_rng(9).normal(0, 1, (batch, units)).astype("float32")
    with_bias = _randomise(keras.layers.GRU(units, reset_after=reset_after), features, 1)
    no_bias = _randomise(
        keras.layers.GRU(units, reset_after=reset_after, use_bias=False), features, 2
    )

    _, h = gru_forward(x, *with_bias.get_weights(), reset_after=reset_after, h0=h0)
    _, h_no_bias = gru_forward(x, *no_bias.get_weights(), None, reset_after=reset_after)

    np.testing.assert_allclose(h, np.asarray(with_bias(x, initial_state=h0)), atol=1e-5)
    np.testing.assert_allclose(h_no_bias, np.asarray(no_bias(x)), atol=1e-5)


def test_reset_after_changes_the_result():
    """Same kernels, same inputs: where the reset gate acts is not a detail."""
    layer = _randomise(keras.layers.GRU(4, reset_after=True), 3, seed=4)
    kernel, recurrent_kernel, bias = layer.get_weights()
    x = _inputs(2, 6, 3)
    zero_recurrent_bias = np.stack([bias[0], np.zeros_like(bias[1])])

    _, after = gru_forward(x, kernel, recurrent_kernel, zero_recurrent_bias, reset_after=True)
    _, before = gru_forward(x, kernel, recurrent_kernel, bias[0], reset_after=False)

    assert np.abs(after - before).max() > 1e-3


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_lstm_forward_rejects_bad_shapes():
    x = np.zeros((2, 3, 4))
    kernel, recurrent_kernel, bias = np.zeros((4, 20)), np.zeros((5, 20)), np.zeros(20)
    with pytest.raises(ValueError, match=r"x\[None\]"):
        lstm_forward(x[0], kernel, recurrent_kernel, bias)
    with pytest.raises(ValueError, match="no time steps"):
        lstm_forward(np.zeros((2, 0, 4)), kernel, recurrent_kernel, bias)
    with pytest.raises(ValueError, match=r"kernel must have shape \(features, 4 \* units\)"):
        lstm_forward(x, np.zeros((3, 20)), recurrent_kernel, bias)
    with pytest.raises(ValueError, match=r"recurrent_kernel must have shape .* \(5, 20\)"):
        lstm_forward(x, kernel, np.zeros((5, 15)), bias)
    with pytest.raises(ValueError, match=r"bias must have shape \(4 \* units,\) = \(20,\)"):
        lstm_forward(x, kernel, recurrent_kernel, np.zeros(15))
    with pytest.raises(ValueError, match=r"c0 must have shape .* \(2, 5\)"):
        lstm_forward(x, kernel, recurrent_kernel, bias, c0=np.zeros((5,)))


def test_gru_forward_names_the_reset_after_mismatch():
    x = np.zeros((1, 2, 3))
    kernel, recurrent_kernel = np.zeros((3, 12)), np.zeros((4, 12))
    with pytest.raises(ValueError, match=r"the shape for reset_after=False"):
        gru_forward(x, kernel, recurrent_kernel, np.zeros(12), reset_after=True)
    with pytest.raises(ValueError, match=r"the shape for reset_after=True"):
        gru_forward(x, kernel, recurrent_kernel, np.zeros((2, 12)), reset_after=False)
    with pytest.raises(ValueError, match=r"h0 must have shape .* \(1, 4\)"):
        gru_forward(x, kernel, recurrent_kernel, None, h0=np.zeros((2, 4)))
