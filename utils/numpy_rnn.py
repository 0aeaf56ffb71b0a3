"""NumPy reference implementations of recurrent layers, written out step by step.

They take weights in exactly the layout that the matching Keras layer's ``get_weights()``
returns, so a notebook can load the same numbers into both and assert the outputs are equal.
This module depends on NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

Params = dict[str, np.ndarray]
"""Named weight arrays, e.g. ``{"W_x": ..., "W_h": ..., "W_o": ..., "b_h": ..., "b_o": ...}``."""

ELMAN_PARAM_NAMES = ("W_x", "W_h", "W_o", "b_h", "b_o")


# --------------------------------------------------------------------------------------------
# Simple (Elman) recurrent layer, in the layout of keras.layers.SimpleRNN
# --------------------------------------------------------------------------------------------


def simple_rnn_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None,
    h0: np.ndarray | None = None,
    activation: Callable[[np.ndarray], np.ndarray] = np.tanh,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a simple recurrent layer over a batch, one time step at a time.

    Computes ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`` with
    ``h_0 = 0`` unless ``h0`` is given. This is the lecture's
    ``h_t = f(W_h h_{t-1} + W_x x_t + b_h)`` written for row vectors (a batch is a stack of
    rows), so ``kernel = W_x.T`` and ``recurrent_kernel = W_h.T``: exactly the arrays, in
    the order, that ``keras.layers.SimpleRNN.get_weights()`` returns.

    Args:
        x: inputs of shape ``(batch, time, features)``.
        kernel: input-to-hidden weights, shape ``(features, units)``.
        recurrent_kernel: hidden-to-hidden weights, shape ``(units, units)``.
        bias: shape ``(units,)``, or ``None`` for a layer built with ``use_bias=False``.
        h0: initial hidden state of shape ``(batch, units)`` (Keras' ``initial_state``).
        activation: the element-wise non-linearity ``f``.

    Returns:
        ``(outputs, last_h)``: every hidden state, shape ``(batch, time, units)`` (what
        ``return_sequences=True`` returns), and the last one, shape ``(batch, units)`` (what
        ``return_sequences=False`` returns).

    Raises:
        ValueError: if a shape does not fit, naming the shape that was expected.
    """
    x = np.asarray(x)
    kernel = np.asarray(kernel)
    recurrent_kernel = np.asarray(recurrent_kernel)
    batch, steps, _, units = _check_shapes(x, kernel, recurrent_kernel, 1, "keras.layers.SimpleRNN")
    bias = np.zeros(units, dtype=kernel.dtype) if bias is None else np.asarray(bias)
    if bias.shape != (units,):
        raise ValueError(f"bias must have shape (units,) = ({units},), got {bias.shape}.")
    dtype = np.result_type(x.dtype, kernel.dtype, recurrent_kernel.dtype, bias.dtype, np.float32)
    h = _initial_state(h0, "h0", batch, units, dtype)

    outputs = np.empty((batch, steps, units), dtype=dtype)
    for t in range(steps):
        h = activation(x[:, t] @ kernel + h @ recurrent_kernel + bias)
        outputs[:, t] = h
    return outputs, h


# --------------------------------------------------------------------------------------------
# The lecture's character-level Elman network, with backpropagation through time by hand
# --------------------------------------------------------------------------------------------


def init_elman_params(
    vocab_size: int, hidden_size: int, seed: int = 0, scale: float = 0.01
) -> Params:
    """Weights for :func:`elman_loss_and_grads`: small Gaussian matrices, zero biases (float64).

    Shapes follow the lecture's column-vector equations
    ``h_t = tanh(W_x x_t + W_h h_{t-1} + b_h)`` and ``y_t = W_o h_t + b_o``:
    ``W_x`` is ``(hidden, vocab)``, ``W_h`` is ``(hidden, hidden)``, ``W_o`` is
    ``(vocab, hidden)``. Small weights keep ``tanh`` in its linear range at the start, so the
    first gradients are neither saturated nor exploding.
    """
    if vocab_size < 1 or hidden_size < 1:
        raise ValueError(
            f"vocab_size and hidden_size must be >= 1, got {vocab_size} and {hidden_size}."
        )
    rng = np.random.default_rng(seed)
    return {
        "W_x": rng.standard_normal((hidden_size, vocab_size)) * scale,
        "W_h": rng.standard_normal((hidden_size, hidden_size)) * scale,
        "W_o": rng.standard_normal((vocab_size, hidden_size)) * scale,
        "b_h": np.zeros(hidden_size),
        "b_o": np.zeros(vocab_size),
    }


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax: subtracting the maximum leaves the result unchanged."""
    shifted = np.exp(logits - np.max(logits, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def _check_elman_params(params: Mapping[str, np.ndarray]) -> tuple[int, int]:
    """Validate the shapes of an Elman ``params`` dict and return ``(vocab, hidden)``."""
    missing = [name for name in ELMAN_PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(
            f"params is missing {missing}; build it with init_elman_params(vocab, hidden)."
        )
    hidden, vocab = np.shape(params["W_x"])
    expected = {
        "W_x": (hidden, vocab),
        "W_h": (hidden, hidden),
        "W_o": (vocab, hidden),
        "b_h": (hidden,),
        "b_o": (vocab,),
    }
    for name, shape in expected.items():
        if np.shape(params[name]) != shape:
            raise ValueError(
                f"params[{name!r}] must have shape {shape} (vocab={vocab}, hidden={hidden} "
                f"from W_x), got {np.shape(params[name])}."
            )
    return vocab, hidden


def _check_ids(ids: list[int], vocab: int, name: str) -> None:
    if len(ids) == 0:
        raise ValueError(f"{name} is empty; pass at least one character id.")
    for i in ids:
        if not (isinstance(i, int | np.integer) and 0 <= i < vocab):
            raise ValueError(f"{name} must hold integer ids in [0, {vocab}), found {i!r}.")


def elman_step(x_id: int, h_prev: np.ndarray, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """One step of the Elman network: ``(h_t, y_t)`` for input id ``x_id`` and state ``h_prev``.

    ``W_x x_t`` with a one-hot ``x_t`` is simply column ``x_id`` of ``W_x``. The output ``y_t``
    holds the unnormalised confidences (logits) for the next character; ``softmax(y_t)`` turns
    them into probabilities.
    """
    h = np.tanh(params["W_x"][:, x_id] + params["W_h"] @ h_prev + params["b_h"])
    return h, params["W_o"] @ h + params["b_o"]


def elman_forward(
    inputs: list[int], h_prev: np.ndarray, params: Params
) -> tuple[np.ndarray, np.ndarray]:
    """Run :func:`elman_step` along ``inputs``.

    Returns:
        ``(hidden, logits)`` of shapes ``(time, hidden)`` and ``(time, vocab)``.
    """
    vocab, hidden = _check_elman_params(params)
    _check_ids(list(inputs), vocab, "inputs")
    if np.shape(h_prev) != (hidden,):
        raise ValueError(f"h_prev must have shape (hidden,) = ({hidden},), got {np.shape(h_prev)}.")
    hs, ys = [], []
    h = np.asarray(h_prev)
    for x_id in inputs:
        h, y = elman_step(x_id, h, params)
        hs.append(h)
        ys.append(y)
    return np.stack(hs), np.stack(ys)


def elman_loss_and_grads(
    inputs: list[int], targets: list[int], h_prev: np.ndarray, params: Params
) -> tuple[float, Params, np.ndarray]:
    """Softmax cross-entropy of the Elman network and its gradients, by backprop through time.

    Forward: ``h_t = tanh(W_x x_t + W_h h_{t-1} + b_h)``, ``y_t = W_o h_t + b_o``,
    ``p_t = softmax(y_t)``, ``loss = -sum_t log p_t[targets[t]]``.

    Backward, from the last step to the first: ``dy_t = p_t - onehot(targets[t])``; the hidden
    state receives ``dh_t = W_o^T dy_t + W_h^T da_{t+1}`` (from the output *and* from the next
    step), then ``da_t = (1 - h_t^2) * dh_t`` goes through ``tanh``. Since the weights are
    shared, every step adds its share: ``dW_h += da_t h_{t-1}^T``, ``dW_x += da_t x_t^T``, ...

    Args:
        inputs: input character ids, one per step.
        targets: the id each step should predict (usually ``inputs`` shifted by one).
        h_prev: hidden state before the first step, shape ``(hidden,)`` (zeros to start).
        params: weights as made by :func:`init_elman_params`.

    Returns:
        ``(loss, grads, last_h)``: the summed loss, gradients keyed like ``params``, and the
        last hidden state (to carry into the next chunk of a longer text).
    """
    inputs, targets = list(inputs), list(targets)
    vocab, _ = _check_elman_params(params)
    _check_ids(inputs, vocab, "inputs")
    _check_ids(targets, vocab, "targets")
    if len(inputs) != len(targets):
        raise ValueError(
            f"inputs and targets must have the same length (one target per step), got "
            f"{len(inputs)} and {len(targets)}."
        )
    hs, logits = elman_forward(inputs, h_prev, params)
    probs = softmax(logits)
    steps = np.arange(len(inputs))
    loss = float(-np.sum(np.log(probs[steps, targets])))

    grads = {name: np.zeros_like(params[name]) for name in ELMAN_PARAM_NAMES}
    dy = probs.copy()
    dy[steps, targets] -= 1.0  # d loss / d y_t for softmax + cross-entropy
    grads["W_o"] = dy.T @ hs
    grads["b_o"] = dy.sum(axis=0)
    dh_from_next = np.zeros_like(hs[0])
    for t in reversed(steps):
        dh = params["W_o"].T @ dy[t] + dh_from_next
        da = (1.0 - hs[t] ** 2) * dh  # through tanh
        h_before = hs[t - 1] if t > 0 else np.asarray(h_prev)
        grads["b_h"] += da
        grads["W_x"][:, inputs[t]] += da
        grads["W_h"] += np.outer(da, h_before)
        dh_from_next = params["W_h"].T @ da
    return loss, grads, hs[-1]


def elman_to_keras_weights(params: Params) -> list[np.ndarray]:
    """The same network as Keras weights, in the order ``model.get_weights()`` lists them.

    For ``Sequential([Input((None, vocab)), SimpleRNN(hidden, return_sequences=True),
    Dense(vocab)])`` fed one-hot inputs. Keras multiplies row vectors, so each matrix is
    transposed: ``[W_x.T, W_h.T, b_h, W_o.T, b_o]``.
    """
    _check_elman_params(params)
    p = params
    return [p["W_x"].T, p["W_h"].T, p["b_h"], p["W_o"].T, p["b_o"]]


def keras_to_elman_params(weights: list[np.ndarray]) -> Params:
    """Inverse of :func:`elman_to_keras_weights` (float64 copies)."""
    if len(weights) != len(ELMAN_PARAM_NAMES):
        raise ValueError(
            f"Expected the 5 arrays of a SimpleRNN + Dense model (kernel, recurrent kernel, "
            f"bias, dense kernel, dense bias), got {len(weights)}."
        )
    kernel, recurrent_kernel, b_h, dense_kernel, b_o = (np.asarray(w, np.float64) for w in weights)
    params = {
        "W_x": kernel.T,
        "W_h": recurrent_kernel.T,
        "b_h": b_h,
        "W_o": dense_kernel.T,
        "b_o": b_o,
    }
    _check_elman_params(params)
    return params


# --------------------------------------------------------------------------------------------
# Checking and clipping gradients
# --------------------------------------------------------------------------------------------


def numerical_gradients(
    loss_fn: Callable[[Params], float], params: Params, eps: float = 1e-5
) -> Params:
    """Central finite differences ``(L(w + eps) - L(w - eps)) / (2 eps)``, one entry at a time.

    Costs two evaluations of ``loss_fn`` per weight, so it is for small networks only. The
    parameters must be float64: in float32 the rounding error of ``L`` swamps the difference.
    """
    for name, value in params.items():
        if np.asarray(value).dtype != np.float64:
            raise ValueError(
                f"params[{name!r}] is {np.asarray(value).dtype}; finite differences need float64 "
                "(use {k: v.astype(np.float64) for k, v in params.items()})."
            )
    work = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    numeric = {}
    for name, value in work.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + eps
            loss_plus = loss_fn(work)
            value[index] = original - eps
            loss_minus = loss_fn(work)
            value[index] = original
            grad[index] = (loss_plus - loss_minus) / (2.0 * eps)
        numeric[name] = grad
    return numeric


def gradient_check(
    loss_fn: Callable[[Params], float],
    params: Params,
    grads: Mapping[str, np.ndarray],
    eps: float = 1e-5,
) -> dict[str, float]:
    """Relative error between analytic ``grads`` and finite differences, one number per parameter.

    The error of parameter ``W`` is ``||g - n|| / (||g|| + ||n||)`` (0 when both are 0), where
    ``g`` is ``grads[W]`` and ``n`` its finite-difference estimate. In float64 a correct
    gradient gives about 1e-7 or less; a wrong one gives something near 1.
    """
    if set(grads) != set(params):
        raise ValueError(
            f"grads and params must have the same keys, got {sorted(grads)} and {sorted(params)}."
        )
    numeric = numerical_gradients(loss_fn, params, eps)
    errors = {}
    for name, approx in numeric.items():
        analytic = np.asarray(grads[name], dtype=np.float64)
        if analytic.shape != approx.shape:
            raise ValueError(
                f"grads[{name!r}] has shape {analytic.shape}, expected {approx.shape}."
            )
        scale = np.linalg.norm(analytic) + np.linalg.norm(approx)
        errors[name] = 0.0 if scale == 0 else float(np.linalg.norm(analytic - approx) / scale)
    return errors


def clip_by_global_norm(
    grads: Mapping[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Norm clipping (Pascanu et al., 2013): rescale all gradients together when too long.

    If the norm of all gradients stacked into one vector exceeds ``max_norm``, every gradient
    is multiplied by ``max_norm / norm``. The step keeps its direction and only gets shorter.
    This is Keras' ``global_clipnorm``; Keras' ``clipnorm`` applies the same rule to each
    variable on its own.

    Returns:
        ``(clipped, norm)``: the rescaled gradients and the norm measured before clipping.
    """
    if max_norm <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}.")
    norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads.values())))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {name: g * scale for name, g in grads.items()}, norm


# --------------------------------------------------------------------------------------------
# Gated layers (LSTM and GRU), in the layout of keras.layers.LSTM and keras.layers.GRU
# --------------------------------------------------------------------------------------------


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + e^-a)``, written with ``tanh`` so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _check_shapes(
    x: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray, gates: int, layer: str
) -> tuple[int, int, int, int]:
    """Validate ``x`` and the two weight matrices of a layer with ``gates`` weight blocks
    (1 for SimpleRNN, 3 for GRU, 4 for LSTM).

    Returns:
        ``(batch, steps, features, units)``.
    """
    if x.ndim != 3:
        raise ValueError(
            f"x must have shape (batch, time, features), got shape {x.shape}; "
            "for a single sequence add a batch axis with x[None]."
        )
    batch, steps, features = x.shape
    if steps == 0:
        raise ValueError("x has no time steps; a recurrent layer needs at least one.")
    blocks = "units" if gates == 1 else f"{gates} * units"
    if kernel.ndim != 2 or kernel.shape[0] != features or kernel.shape[1] % gates:
        raise ValueError(
            f"kernel must have shape (features, {blocks}) with features={features} for "
            f"x of shape {x.shape}, got {kernel.shape}; pass {layer}.get_weights()[0]."
        )
    units = kernel.shape[1] // gates
    if recurrent_kernel.shape != (units, gates * units):
        raise ValueError(
            f"recurrent_kernel must have shape (units, {blocks}) = "
            f"({units}, {gates * units}), got {recurrent_kernel.shape}; "
            f"pass {layer}.get_weights()[1]."
        )
    return batch, steps, features, units


def _initial_state(
    state: np.ndarray | None, name: str, batch: int, units: int, dtype: np.dtype
) -> np.ndarray:
    """Zeros, or ``state`` checked to have shape ``(batch, units)``."""
    if state is None:
        return np.zeros((batch, units), dtype=dtype)
    state = np.asarray(state, dtype=dtype)
    if state.shape != (batch, units):
        raise ValueError(
            f"{name} must have shape (batch, units) = ({batch}, {units}), got {state.shape}."
        )
    return state


LSTM_TRACE_KEYS = ("h", "C", "f", "i", "o")
"""What :func:`lstm_trace` records at every step: hidden state, cell state, the three gates."""


def lstm_trace(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Run an LSTM layer over a batch, one time step at a time, and keep every gate and state.

    The lecture's four steps, with what happens inside the cell recorded at each step, so that a
    trained layer's gates can be read off (notebook 04 and its solutions).

    With ``a_t = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias`` split into four blocks in
    Keras's gate order i, f, c, o::

        f_t = sigmoid(a_f)                     forget gate
        i_t = sigmoid(a_i)                     input gate
        C~_t = tanh(a_c)                       candidate
        C_t = f_t * C_{t-1} + i_t * C~_t       new cell state
        o_t = sigmoid(a_o)                     output gate
        h_t = o_t * tanh(C_t)                  new hidden state

    The lecture's ``W_f . [h_{t-1}, x_t]`` is ``h_{t-1} @ recurrent_kernel[:, f] +
    x_t @ kernel[:, f]``: Keras keeps the ``h`` and ``x`` halves of each ``W`` apart.

    Args:
        x: inputs of shape ``(batch, time, features)``.
        kernel: shape ``(features, 4 * units)``; ``keras.layers.LSTM.get_weights()[0]``.
        recurrent_kernel: shape ``(units, 4 * units)``; ``get_weights()[1]``.
        bias: shape ``(4 * units,)`` (``get_weights()[2]``), or ``None`` for ``use_bias=False``.
        h0, c0: initial hidden and cell states, shape ``(batch, units)`` (default zeros), as
            Keras's ``initial_state=[h0, c0]``.

    Returns:
        A dict of arrays of shape ``(batch, time, units)``, one per :data:`LSTM_TRACE_KEYS`:
        ``"h"`` the hidden states, ``"C"`` the cell states, ``"f"``, ``"i"`` and ``"o"`` the
        forget, input and output gates.

    Raises:
        ValueError: if a shape does not fit, naming the shape that was expected.
    """
    x, kernel, recurrent_kernel = (np.asarray(a) for a in (x, kernel, recurrent_kernel))
    batch, steps, _, units = _check_shapes(x, kernel, recurrent_kernel, 4, "keras.layers.LSTM")
    bias = np.zeros(4 * units, dtype=kernel.dtype) if bias is None else np.asarray(bias)
    if bias.shape != (4 * units,):
        raise ValueError(
            f"bias must have shape (4 * units,) = ({4 * units},), got {bias.shape}; "
            "pass keras.layers.LSTM.get_weights()[2]."
        )
    dtype = np.result_type(x.dtype, kernel.dtype, recurrent_kernel.dtype, bias.dtype, np.float32)
    h = _initial_state(h0, "h0", batch, units, dtype)
    c = _initial_state(c0, "c0", batch, units, dtype)

    trace = {key: np.empty((batch, steps, units), dtype=dtype) for key in LSTM_TRACE_KEYS}
    for t in range(steps):
        a = x[:, t] @ kernel + h @ recurrent_kernel + bias
        a_i, a_f, a_c, a_o = np.split(a, 4, axis=-1)
        f = _sigmoid(a_f)
        i = _sigmoid(a_i)
        c = f * c + i * np.tanh(a_c)
        o = _sigmoid(a_o)
        h = o * np.tanh(c)
        for key, value in zip(LSTM_TRACE_KEYS, (h, c, f, i, o), strict=True):
            trace[key][:, t] = value
    return trace


def lstm_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run an LSTM layer over a batch: what ``keras.layers.LSTM`` computes.

    The arguments are :func:`lstm_trace`'s (which documents the equations and the weights'
    layout).

    Returns:
        ``(outputs, last_h, last_c)``: every ``h_t``, shape ``(batch, time, units)``, then the
        last hidden state and the last cell state, each ``(batch, units)``; what
        ``LSTM(units, return_sequences=True, return_state=True)`` returns.

    Raises:
        ValueError: if a shape does not fit, naming the shape that was expected.
    """
    trace = lstm_trace(x, kernel, recurrent_kernel, bias, h0, c0)
    return trace["h"], trace["h"][:, -1], trace["C"][:, -1]


def gru_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None,
    reset_after: bool = True,
    h0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a GRU layer over a batch, one time step at a time, exactly as Keras computes it.

    Weight blocks in Keras's order z (update), r (reset), h (candidate)::

        z_t = sigmoid(x_t @ W_xz + b_xz + h_{t-1} @ W_hz + b_hz)
        r_t = sigmoid(x_t @ W_xr + b_xr + h_{t-1} @ W_hr + b_hr)
        h~_t = tanh(x_t @ W_xh + b_xh + r_t * (h_{t-1} @ W_hh + b_hh))   reset_after=True
        h~_t = tanh(x_t @ W_xh + b_xh + (r_t * h_{t-1}) @ W_hh)           reset_after=False
        h_t = z_t * h_{t-1} + (1 - z_t) * h~_t

    Keras keeps ``h_{t-1}`` with weight ``z_t``; the lecture (after Cho et al., 2014) writes
    ``h_t = (1 - z_t) * h_{t-1} + z_t * h~_t``, the same family with ``z_t`` replaced by
    ``1 - z_t``. ``reset_after=False`` is the lecture's (and Cho et al.'s) candidate;
    ``reset_after=True``, Keras's default, applies ``r_t`` after the matrix product, the form
    cuDNN implements, and has a second bias row (the ``b_h*`` terms) for the recurrent side.

    Args:
        x: inputs of shape ``(batch, time, features)``.
        kernel: shape ``(features, 3 * units)``; ``keras.layers.GRU.get_weights()[0]``.
        recurrent_kernel: shape ``(units, 3 * units)``; ``get_weights()[1]``.
        bias: ``get_weights()[2]``: shape ``(2, 3 * units)`` (input bias row, then recurrent
            bias row) when ``reset_after=True``, ``(3 * units,)`` when ``reset_after=False``;
            ``None`` for ``use_bias=False``.
        reset_after: the ``reset_after`` the Keras layer was built with.
        h0: initial hidden state of shape ``(batch, units)`` (default zeros).

    Returns:
        ``(outputs, last_h)``: every ``h_t``, shape ``(batch, time, units)``, and the last one,
        shape ``(batch, units)``.

    Raises:
        ValueError: if a shape does not fit, naming the shape that was expected.
    """
    x, kernel, recurrent_kernel = (np.asarray(a) for a in (x, kernel, recurrent_kernel))
    batch, steps, _, units = _check_shapes(x, kernel, recurrent_kernel, 3, "keras.layers.GRU")
    bias_shape = (2, 3 * units) if reset_after else (3 * units,)
    bias = np.zeros(bias_shape, dtype=kernel.dtype) if bias is None else np.asarray(bias)
    if bias.shape != bias_shape:
        other = (3 * units,) if reset_after else (2, 3 * units)
        hint = f" (the shape for reset_after={not reset_after})" if bias.shape == other else ""
        raise ValueError(
            f"With reset_after={reset_after} bias must have shape {bias_shape}, "
            f"got {bias.shape}{hint}; pass keras.layers.GRU.get_weights()[2] and the layer's "
            "reset_after."
        )
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    dtype = np.result_type(x.dtype, kernel.dtype, recurrent_kernel.dtype, bias.dtype, np.float32)
    h = _initial_state(h0, "h0", batch, units, dtype)
    W_hz, W_hr, W_hh = np.split(recurrent_kernel, 3, axis=-1)
    b_hz, b_hr, b_hh = np.split(recurrent_bias, 3)

    outputs = np.empty((batch, steps, units), dtype=dtype)
    for t in range(steps):
        a_xz, a_xr, a_xh = np.split(x[:, t] @ kernel + input_bias, 3, axis=-1)
        z = _sigmoid(a_xz + h @ W_hz + b_hz)
        r = _sigmoid(a_xr + h @ W_hr + b_hr)
        if reset_after:
            candidate = np.tanh(a_xh + r * (h @ W_hh + b_hh))
        else:
            candidate = np.tanh(a_xh + (r * h) @ W_hh)
        h = z * h + (1.0 - z) * candidate
        outputs[:, t] = h
    return outputs, h
