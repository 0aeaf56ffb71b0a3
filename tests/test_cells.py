"""The peephole and coupled LSTM cells: their equations, their Keras plumbing, their sizes."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from utils.cells import CoupledLSTMCell, PeepholeLSTMCell

BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def _rnn(cell: keras.layers.Layer, features: int = FEATURES) -> keras.layers.RNN:
    """A built RNN layer around ``cell`` that returns every ``h_t`` and the final ``[h, C]``."""
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    layer.build((None, None, features))
    return layer


def _random_weights(layer: keras.layers.Layer, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()]


def _inputs(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (BATCH, STEPS, FEATURES)).astype("float32")


def _reference(x, kernel, recurrent_kernel, bias, step):
    """Loop ``step(a_t, C_{t-1}) -> C_t, o_t`` over time with NumPy; return ``(hs, h, C)``."""
    h = np.zeros((x.shape[0], recurrent_kernel.shape[0]))
    c = np.zeros_like(h)
    hs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ kernel + h @ recurrent_kernel + bias
        c, o = step(a, c)
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), h, c


def _assert_same(got, expected, atol: float = 1e-5) -> None:
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=0, atol=atol)


# --------------------------------------------------------------------------------------------
# Peephole LSTM
# --------------------------------------------------------------------------------------------


def test_peephole_cell_with_zero_peepholes_is_a_plain_lstm_cell():
    plain = _rnn(keras.layers.LSTMCell(UNITS))
    peephole = _rnn(PeepholeLSTMCell(UNITS))
    kernel, recurrent_kernel, bias = _random_weights(plain, seed=0)
    plain.set_weights([kernel, recurrent_kernel, bias])
    zeros = np.zeros(UNITS, dtype="float32")
    peephole.set_weights([kernel, recurrent_kernel, bias, zeros, zeros, zeros])
    x = _inputs()

    _assert_same(peephole(x), plain(x))


def test_peephole_cell_follows_gers_and_schmidhuber():
    """Diagonal peepholes: C_{t-1} into the input and forget gates, C_t into the output gate."""
    layer = _rnn(PeepholeLSTMCell(UNITS))
    weights = _random_weights(layer, seed=1)
    layer.set_weights(weights)
    kernel, recurrent_kernel, bias, p_i, p_f, p_o = (w.astype(np.float64) for w in weights)

    def step(a, c_prev):
        a_i, a_f, a_c, a_o = np.split(a, 4, axis=-1)
        i = _sigmoid(a_i + p_i * c_prev)
        f = _sigmoid(a_f + p_f * c_prev)
        c = f * c_prev + i * np.tanh(a_c)
        return c, _sigmoid(a_o + p_o * c)

    x = _inputs()
    expected = _reference(x, kernel, recurrent_kernel, bias, step)
    _assert_same(layer(x), expected)
    # ...and the peepholes do change the answer.
    plain = _rnn(keras.layers.LSTMCell(UNITS))
    plain.set_weights(weights[:3])
    assert np.abs(np.asarray(plain(x)[0]) - expected[0]).max() > 1e-2


def test_peephole_cell_weights_and_defaults():
    cell = PeepholeLSTMCell(UNITS)
    _rnn(cell)
    names = [w.path.split("/")[-1] for w in cell.weights]
    assert names == [
        "kernel",
        "recurrent_kernel",
        "bias",
        "input_gate_peephole_weights",
        "forget_gate_peephole_weights",
        "output_gate_peephole_weights",
    ]
    assert cell.state_size == [UNITS, UNITS]
    assert cell.output_size == UNITS
    bias = np.asarray(cell.bias)  # unit_forget_bias: ones for f (second block of i, f, c, o)
    np.testing.assert_array_equal(bias[UNITS : 2 * UNITS], 1.0)
    np.testing.assert_array_equal(np.delete(bias, np.s_[UNITS : 2 * UNITS]), 0.0)
    assert all(np.abs(np.asarray(w)).max() > 0 for w in cell.weights[3:])


# --------------------------------------------------------------------------------------------
# Coupled LSTM
# --------------------------------------------------------------------------------------------


def test_coupled_cell_matches_its_equations():
    layer = _rnn(CoupledLSTMCell(UNITS))
    weights = _random_weights(layer, seed=2)
    layer.set_weights(weights)

    def step(a, c_prev):
        a_f, a_c, a_o = np.split(a, 3, axis=-1)
        f = _sigmoid(a_f)
        return f * c_prev + (1.0 - f) * np.tanh(a_c), _sigmoid(a_o)

    x = _inputs()
    kernel, recurrent_kernel, bias = (w.astype(np.float64) for w in weights)
    _assert_same(layer(x), _reference(x, kernel, recurrent_kernel, bias, step))


def test_coupled_cell_input_gate_is_one_minus_forget_gate():
    """Read the input gate off one step of the cell: i_t = (C_t - f_t C_{t-1}) / C~_t."""
    cell = CoupledLSTMCell(UNITS)
    cell.build((None, FEATURES))
    kernel, recurrent_kernel, bias = _random_weights(cell, seed=3)
    cell.set_weights([kernel, recurrent_kernel, bias])
    rng = np.random.default_rng(4)
    x, h_prev, c_prev = (rng.normal(0, 1, s).astype("float32") for s in [(64, 4), (64, 5), (64, 5)])

    _, (_, c) = cell(x, [h_prev, c_prev])

    a_f, a_c, _ = np.split(x @ kernel + h_prev @ recurrent_kernel + bias, 3, axis=-1)
    f, candidate = _sigmoid(a_f), np.tanh(a_c)
    usable = np.abs(candidate) > 0.1  # divide only where the candidate is not near zero
    input_gate = (np.asarray(c) - f * c_prev)[usable] / candidate[usable]
    np.testing.assert_allclose(input_gate, (1.0 - f)[usable], atol=1e-4)


def test_coupled_cell_has_three_blocks_and_a_forget_bias_of_one():
    cell = CoupledLSTMCell(UNITS, unit_forget_bias=True)
    _rnn(cell)
    assert [tuple(w.shape) for w in cell.weights] == [
        (FEATURES, 3 * UNITS),
        (UNITS, 3 * UNITS),
        (3 * UNITS,),
    ]
    bias = np.asarray(cell.bias)  # gate order f, c, o
    np.testing.assert_array_equal(bias[:UNITS], 1.0)
    np.testing.assert_array_equal(bias[UNITS:], 0.0)

    no_forget_bias = CoupledLSTMCell(UNITS, unit_forget_bias=False, bias_initializer="ones")
    _rnn(no_forget_bias)
    np.testing.assert_array_equal(np.asarray(no_forget_bias.bias), 1.0)
    assert CoupledLSTMCell(UNITS, use_bias=False).get_config()["use_bias"] is False


# --------------------------------------------------------------------------------------------
# Both cells: Keras plumbing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell_class", [PeepholeLSTMCell, CoupledLSTMCell])
def test_cell_rejects_non_positive_units(cell_class):
    with pytest.raises(ValueError, match="units"):
        cell_class(0)


@pytest.mark.parametrize("cell_class", [PeepholeLSTMCell, CoupledLSTMCell])
def test_model_with_cell_saves_and_loads(cell_class, tmp_path):
    cell = cell_class(UNITS, dropout=0.2, recurrent_dropout=0.1, activation="softsign", seed=3)
    model = keras.Sequential(
        [keras.Input((STEPS, FEATURES)), keras.layers.RNN(cell), keras.layers.Dense(2)]
    )
    model.layers[0].set_weights(_random_weights(model.layers[0], seed=5))
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.models.load_model(path)

    x = _inputs()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    loaded_cell = loaded.layers[0].cell
    assert type(loaded_cell) is cell_class
    assert loaded_cell.get_config() == cell.get_config()


def test_peephole_initializer_is_used_and_serialised():
    cell = PeepholeLSTMCell(UNITS, peephole_initializer="zeros")
    _rnn(cell)
    assert all(np.all(np.asarray(w) == 0) for w in cell.weights[3:])
    restored = PeepholeLSTMCell.from_config(cell.get_config())
    assert isinstance(restored.peephole_initializer, keras.initializers.Zeros)


@pytest.mark.parametrize("cell_class", [PeepholeLSTMCell, CoupledLSTMCell])
def test_dropout_acts_in_training_only_and_trains_in_a_compiled_loop(cell_class):
    layer = keras.layers.RNN(cell_class(UNITS, dropout=0.5, recurrent_dropout=0.5, seed=1))
    model = keras.Sequential([keras.Input((STEPS, FEATURES)), layer, keras.layers.Dense(1)])
    x = _inputs()

    inference = np.asarray(model(x, training=False))
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), inference)
    assert np.abs(np.asarray(model(x, training=True)) - inference).max() > 1e-3

    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, np.ones((BATCH, 1)), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


# --------------------------------------------------------------------------------------------
# Parameter counts: the formulas derived in notebooks 04 and 05
# --------------------------------------------------------------------------------------------


def _formula_counts(m: int, n: int) -> dict[str, int]:
    """Parameters of one recurrent layer with ``m`` inputs and ``n`` units."""
    block = n * (m + n) + n  # one W . [h_{t-1}, x_t] + b
    return {
        "SimpleRNN": block,
        "GRU (reset_after=True)": 3 * (block + n),  # + a recurrent bias per block
        "GRU (reset_after=False)": 3 * block,
        "LSTM": 4 * block,
        "Peephole LSTM": 4 * block + 3 * n,
        "Coupled LSTM": 3 * block,
    }


@pytest.mark.parametrize(("m", "n"), [(1, 1), (4, 5), (32, 64), (100, 7)])
def test_parameter_counts_match_the_formulas(m, n):
    layers = {
        "SimpleRNN": keras.layers.SimpleRNN(n),
        "GRU (reset_after=True)": keras.layers.GRU(n),
        "GRU (reset_after=False)": keras.layers.GRU(n, reset_after=False),
        "LSTM": keras.layers.LSTM(n),
        "Peephole LSTM": keras.layers.RNN(PeepholeLSTMCell(n)),
        "Coupled LSTM": keras.layers.RNN(CoupledLSTMCell(n)),
    }
    counted = {}
    for name, layer in layers.items():
        layer.build((None, None, m))
        counted[name] = layer.count_params()
    assert counted == _formula_counts(m, n)
