"""The NumPy reference implementations agree with Keras, finite differences and autodiff."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils.numpy_rnn import (
    ELMAN_PARAM_NAMES,
    clip_by_global_norm,
    elman_forward,
    elman_loss_and_grads,
    elman_to_keras_weights,
    gradient_check,
    init_elman_params,
    keras_to_elman_params,
    numerical_gradients,
    simple_rnn_forward,
    softmax,
)

# --------------------------------------------------------------------------------------------
# simple_rnn_forward against keras.layers.SimpleRNN
# --------------------------------------------------------------------------------------------


def _random_simple_rnn(
    units: int, features: int, activation: str = "tanh", seed: int = 0
) -> keras.layers.SimpleRNN:
    """A built SimpleRNN with random (not default-initialised) weights, including the bias."""
    layer = keras.layers.SimpleRNN(units, activation=activation, return_sequences=True)
    layer.build((None, None, features))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize(
    "batch, steps, features, units", [(1, 1, 1, 1), (2, 5, 3, 4), (4, 9, 6, 2)]
)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_simple_rnn_forward_matches_keras(batch, steps, features, units, return_sequences):
    source = _random_simple_rnn(units, features, seed=batch + steps)
    layer = keras.layers.SimpleRNN(units, return_sequences=return_sequences)
    layer.build((None, None, features))
    layer.set_weights(source.get_weights())
    x = np.random.default_rng(1).normal(size=(batch, steps, features)).astype("float32")

    outputs, last_h = simple_rnn_forward(x, *layer.get_weights())

    expected = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(outputs if return_sequences else last_h, expected, atol=1e-5)
    np.testing.assert_array_equal(outputs[:, -1], last_h)
    assert outputs.shape == (batch, steps, units) and outputs.dtype == np.float32


def test_simple_rnn_forward_with_initial_state_and_relu():
    layer = _random_simple_rnn(units=3, features=2, activation="relu", seed=7)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 6, 2)).astype("float32")
    h0 = rng.normal(size=(2, 3)).astype("float32")

    outputs, _ = simple_rnn_forward(
        x, *layer.get_weights(), h0=h0, activation=lambda a: np.maximum(a, 0)
    )

    expected = keras.ops.convert_to_numpy(layer(x, initial_state=[h0]))
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    assert (outputs == 0).any(), "the ReLU never clipped anything, so the test checks too little"


def test_simple_rnn_forward_without_bias_matches_use_bias_false():
    layer = keras.layers.SimpleRNN(4, use_bias=False, return_sequences=True)
    x = np.random.default_rng(3).normal(size=(3, 5, 2)).astype("float32")
    expected = keras.ops.convert_to_numpy(layer(x))
    kernel, recurrent_kernel = layer.get_weights()

    outputs, _ = simple_rnn_forward(x, kernel, recurrent_kernel, None)

    np.testing.assert_allclose(outputs, expected, atol=1e-5)


def test_simple_rnn_forward_is_the_lecture_recurrence_unrolled_by_hand():
    rng = np.random.default_rng(4)
    W_x, W_h, b_h = rng.normal(size=(2, 3)), rng.normal(size=(2, 2)), rng.normal(size=2)
    x = rng.normal(size=(1, 3, 3))
    h1 = np.tanh(W_h @ np.zeros(2) + W_x @ x[0, 0] + b_h)
    h2 = np.tanh(W_h @ h1 + W_x @ x[0, 1] + b_h)
    h3 = np.tanh(W_h @ h2 + W_x @ x[0, 2] + b_h)

    outputs, last_h = simple_rnn_forward(x, W_x.T, W_h.T, b_h)

    np.testing.assert_allclose(outputs[0], np.stack([h1, h2, h3]), rtol=1e-12)
    np.testing.assert_allclose(last_h[0], h3, rtol=1e-12)


@pytest.mark.parametrize(
    "x_shape, kernel_shape, recurrent_shape, bias_shape, h0_shape, message",
    [
        ((5, 3), (3, 4), (4, 4), (4,), None, r"x must have shape \(batch, time, features\)"),
        ((2, 0, 3), (3, 4), (4, 4), (4,), None, "at least one"),
        ((2, 5, 3), (2, 4), (4, 4), (4,), None, r"kernel must have shape \(features, units\)"),
        ((2, 5, 3), (3, 4), (4, 3), (4,), None, r"recurrent_kernel must have shape .*\(4, 4\)"),
        ((2, 5, 3), (3, 4), (4, 4), (3,), None, r"bias must have shape .*\(4,\)"),
        ((2, 5, 3), (3, 4), (4, 4), (4,), (4,), r"h0 must have shape .*\(2, 4\)"),
    ],
)
def test_simple_rnn_forward_rejects_bad_shapes(
    x_shape, kernel_shape, recurrent_shape, bias_shape, h0_shape, message
):
    h0 = None if h0_shape is None else np.zeros(h0_shape)
    with pytest.raises(ValueError, match=message):
        simple_rnn_forward(
            np.zeros(x_shape),
            np.zeros(kernel_shape),
            np.zeros(recurrent_shape),
            np.zeros(bias_shape),
            h0=h0,
        )


# --------------------------------------------------------------------------------------------
# The Elman network: forward pass, BPTT gradients
# --------------------------------------------------------------------------------------------

VOCAB, HIDDEN = 5, 4
INPUTS, TARGETS = [0, 3, 1, 1, 4, 2, 1], [3, 1, 1, 4, 2, 1, 0]


@pytest.fixture
def params():
    # Larger than the default scale so that tanh is non-linear and every gradient is sizeable.
    return init_elman_params(VOCAB, HIDDEN, seed=3, scale=0.5)


@pytest.fixture
def h_prev():
    return np.random.default_rng(5).normal(0, 0.5, HIDDEN)


def test_init_elman_params_shapes_zero_biases_and_seed():
    p = init_elman_params(vocab_size=4, hidden_size=3, seed=1)
    shapes = {name: value.shape for name, value in p.items()}
    assert shapes == {"W_x": (3, 4), "W_h": (3, 3), "W_o": (4, 3), "b_h": (3,), "b_o": (4,)}
    assert all(value.dtype == np.float64 for value in p.values())
    assert not p["b_h"].any() and not p["b_o"].any()
    assert 0 < np.abs(p["W_h"]).max() < 0.1
    again, other = init_elman_params(4, 3, seed=1), init_elman_params(4, 3, seed=2)
    assert all(np.array_equal(p[k], again[k]) for k in p)
    assert not np.array_equal(p["W_x"], other["W_x"])
    with pytest.raises(ValueError, match="hidden_size must be >= 1"):
        init_elman_params(4, 0)


def test_elman_loss_is_summed_cross_entropy_of_the_forward_pass(params, h_prev):
    hidden, logits = elman_forward(INPUTS, h_prev, params)
    loss, _, last_h = elman_loss_and_grads(INPUTS, TARGETS, h_prev, params)

    probs = softmax(logits)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert loss == pytest.approx(-sum(np.log(probs[t, y]) for t, y in enumerate(TARGETS)))
    np.testing.assert_array_equal(last_h, hidden[-1])
    assert hidden.shape == (len(INPUTS), HIDDEN) and logits.shape == (len(INPUTS), VOCAB)


def test_elman_forward_matches_keras_simple_rnn_plus_dense(params, h_prev):
    model = keras.Sequential(
        [
            keras.Input((None, VOCAB)),
            keras.layers.SimpleRNN(HIDDEN, return_sequences=True),
            keras.layers.Dense(VOCAB),
        ]
    )
    model.set_weights(elman_to_keras_weights(params))
    one_hot = np.eye(VOCAB, dtype="float32")[INPUTS][None]

    _, logits = elman_forward(INPUTS, np.zeros(HIDDEN), params)

    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(one_hot))[0], logits, atol=1e-5)
    round_trip = keras_to_elman_params(model.get_weights())
    for name in ELMAN_PARAM_NAMES:
        np.testing.assert_allclose(round_trip[name], params[name], rtol=1e-6)


def test_bptt_gradients_agree_with_finite_differences(params, h_prev):
    _, grads, _ = elman_loss_and_grads(INPUTS, TARGETS, h_prev, params)

    errors = gradient_check(
        lambda p: elman_loss_and_grads(INPUTS, TARGETS, h_prev, p)[0], params, grads
    )

    assert set(errors) == set(ELMAN_PARAM_NAMES)
    assert max(errors.values()) < 1e-6, errors
    assert all(np.linalg.norm(g) > 1e-3 for g in grads.values()), "a gradient is ~0: weak test"


def test_bptt_gradients_agree_with_gradient_tape(params, h_prev):
    """The same network in float64 Keras layers, differentiated by TensorFlow."""
    rnn = keras.layers.SimpleRNN(HIDDEN, return_sequences=True, dtype="float64")
    dense = keras.layers.Dense(VOCAB, dtype="float64")
    one_hot = tf.constant(np.eye(VOCAB)[INPUTS][None])
    rnn.build((None, None, VOCAB))
    dense.build((None, None, HIDDEN))
    weights = elman_to_keras_weights(params)
    rnn.set_weights(weights[:3])
    dense.set_weights(weights[3:])

    with tf.GradientTape() as tape:
        logits = dense(rnn(one_hot, initial_state=[tf.constant(h_prev[None])]))
        tape_loss = tf.reduce_sum(
            tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant([TARGETS]), logits)
        )
    tape_grads = tape.gradient(tape_loss, rnn.trainable_weights + dense.trainable_weights)

    loss, grads, _ = elman_loss_and_grads(INPUTS, TARGETS, h_prev, params)
    assert loss == pytest.approx(float(tape_loss), rel=1e-12)
    # Keras' order: kernel, recurrent kernel, bias, dense kernel, dense bias. It keeps the
    # matrices transposed (one row per input unit); the biases are the same.
    for name, tape_grad in zip(("W_x", "W_h", "b_h", "W_o", "b_o"), tape_grads, strict=True):
        expected = tape_grad.numpy().T if name.startswith("W_") else tape_grad.numpy()
        np.testing.assert_allclose(grads[name], expected, rtol=1e-9, atol=1e-12, err_msg=name)


def test_bptt_gradient_check_runs_through_time_not_just_the_last_step(params, h_prev):
    """Dropping the term W_h^T da_{t+1} (truncating BPTT to one step) must be caught."""
    _, grads, _ = elman_loss_and_grads(INPUTS, TARGETS, h_prev, params)
    one_step = {}
    for t in range(len(INPUTS)):
        h_start = h_prev if t == 0 else elman_forward(INPUTS[:t], h_prev, params)[0][-1]
        _, g, _ = elman_loss_and_grads(INPUTS[t : t + 1], TARGETS[t : t + 1], h_start, params)
        one_step = {k: one_step.get(k, 0) + g[k] for k in g}

    errors = gradient_check(
        lambda p: elman_loss_and_grads(INPUTS, TARGETS, h_prev, p)[0], params, one_step
    )

    assert errors["W_h"] > 1e-2 and errors["W_x"] > 1e-2
    assert errors["W_o"] < 1e-6  # the output layer has no path through time
    np.testing.assert_allclose(grads["W_o"], one_step["W_o"], rtol=1e-9)


@pytest.mark.parametrize(
    "inputs, targets, change, message",
    [
        ([0, 1], [1], {}, "same length"),
        ([], [], {}, "inputs is empty"),
        ([0, 9], [1, 2], {}, r"integer ids in \[0, 5\), found 9"),
        ([0, 1], [1, -1], {}, r"targets must hold integer ids"),
        ([0, 1.5], [1, 2], {}, r"inputs must hold integer ids"),
        ([0, 1], [1, 2], {"W_h": np.zeros((4, 3))}, r"params\['W_h'\] must have shape \(4, 4\)"),
        ([0, 1], [1, 2], {"b_o": None}, r"missing \['b_o'\]"),
    ],
)
def test_elman_loss_and_grads_rejects_bad_input(params, h_prev, inputs, targets, change, message):
    bad = dict(params)
    for name, value in change.items():
        if value is None:
            del bad[name]
        else:
            bad[name] = value
    with pytest.raises(ValueError, match=message):
        elman_loss_and_grads(inputs, targets, h_prev, bad)


def test_elman_rejects_wrong_hidden_state(params):
    with pytest.raises(ValueError, match=r"h_prev must have shape \(hidden,\) = \(4,\)"):
        elman_loss_and_grads([0], [1], np.zeros(3), params)


# --------------------------------------------------------------------------------------------
# Gradient checking and clipping helpers
# --------------------------------------------------------------------------------------------


def test_numerical_gradients_of_a_known_function():
    params = {"a": np.array([1.0, -2.0, 0.5]), "B": np.array([[2.0, 3.0]])}

    numeric = numerical_gradients(
        lambda p: float(np.sum(p["a"] ** 3) + np.sum(p["B"] ** 2)), params
    )

    np.testing.assert_allclose(numeric["a"], 3 * params["a"] ** 2, rtol=1e-8)
    np.testing.assert_allclose(numeric["B"], 2 * params["B"], rtol=1e-8)
    np.testing.assert_array_equal(params["a"], [1.0, -2.0, 0.5])  # left unchanged


def test_gradient_check_flags_a_wrong_gradient_and_needs_float64():
    params = {"w": np.array([1.0, 2.0])}

    def loss(p):
        return float(np.sum(p["w"] ** 2))

    assert gradient_check(loss, params, {"w": 2 * params["w"]})["w"] < 1e-9
    assert gradient_check(loss, params, {"w": 2 * params["w"] * [1, -1]})["w"] > 0.5
    with pytest.raises(ValueError, match="same keys"):
        gradient_check(loss, params, {"v": params["w"]})
    with pytest.raises(ValueError, match="need float64"):
        gradient_check(loss, {"w": params["w"].astype("float32")}, {"w": params["w"]})


def test_clip_by_global_norm_matches_tensorflow():
    grads = {"a": np.array([3.0, 4.0]), "b": np.array([[12.0]])}  # global norm 13

    clipped, norm = clip_by_global_norm(grads, max_norm=6.5)

    expected, tf_norm = tf.clip_by_global_norm(
        [tf.constant(grads["a"]), tf.constant(grads["b"])], 6.5
    )
    assert norm == pytest.approx(13.0) == pytest.approx(float(tf_norm))
    np.testing.assert_allclose(clipped["a"], expected[0].numpy())
    np.testing.assert_allclose(clipped["b"], expected[1].numpy())
    np.testing.assert_allclose(clipped["a"], grads["a"] / 2)  # same direction, half the length
    unchanged, _ = clip_by_global_norm(grads, max_norm=100.0)
    np.testing.assert_array_equal(unchanged["b"], grads["b"])
    with pytest.raises(ValueError, match="must be positive"):
        clip_by_global_norm(grads, 0.0)
