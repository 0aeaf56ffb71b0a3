"""Will this recurrent layer run on the fast cuDNN kernel on a GPU? ``check_cudnn`` says, and why.

On the TensorFlow backend, ``keras.layers.LSTM`` and ``keras.layers.GRU`` switch to NVIDIA's
fused cuDNN kernel when a GPU is present *and* the layer's configuration is one that kernel
computes. Otherwise they silently fall back to Keras's generic step-by-step loop, which is
several times slower on a GPU. Nothing is printed either way, so a single innocent
argument (``recurrent_dropout=0.2``, ``activation="relu"``) can cost most of a Colab session
without anyone noticing. :func:`check_cudnn` makes the dispatch visible; :func:`check_cudnn_mask`
checks the one rule that depends on the data rather than on the layer.

The rules follow Keras 3.15's own dispatch code, not its documentation alone:

- ``keras/src/layers/rnn/lstm.py`` and ``gru.py``, ``LSTM.inner_loop`` / ``GRU.inner_loop``:
  the fused path is tried only when ``use_cudnn`` is ``"auto"`` or ``True`` and
  ``recurrent_dropout`` is 0. Input ``dropout`` is fine: the layer applies it to the whole
  input sequence before calling the kernel. With ``use_cudnn=True`` and an ineligible
  configuration the layer raises a ``ValueError`` when called instead of falling back.
- ``keras/src/backend/tensorflow/rnn.py``, ``cudnn_ok`` with ``_do_lstm_arguments_support_cudnn``
  and ``_do_gru_arguments_support_cudnn``: ``activation`` is tanh, ``recurrent_activation`` is
  sigmoid (compared by identity with ``keras.activations``, ``tf`` and ``keras.ops`` functions,
  so a home-made ``lambda x: ops.tanh(x)`` does not count), ``unroll`` is False, ``use_bias``
  is True and, for the GRU only, ``reset_after`` is True; and a GPU is visible.
- Only the ``LSTM`` and ``GRU`` layer classes have a fused path. ``SimpleRNN``, and the generic
  ``keras.layers.RNN`` even around an ``LSTMCell`` or ``GRUCell``, always run the generic loop.
- ``keras/src/layers/rnn/bidirectional.py``: ``Bidirectional`` first tries a fused two-direction
  kernel, which the TensorFlow backend does not provide (``bidirectional_lstm`` raises
  ``NotImplementedError``), so it calls its forward and backward layers one after the other;
  each of them uses cuDNN by the rules above.

The run-time rule, about the data: when the layer receives a mask (``Embedding(mask_zero=True)``,
``Masking``), ``_cudnn_lstm`` / ``_cudnn_gru`` turn it into one length per sequence, because
cuDNN can only skip a *tail* of padding. The mask must therefore be **strictly right-padded**
(every row is some ``True`` steps followed only by ``False`` steps) and **no row may be fully
masked**; ``_assert_valid_mask`` fails the GPU run otherwise ("You are passing a RNN mask that
does not correspond to right-padded sequences, while using cuDNN"). The CPU loop accepts any
mask, so left-padded data that trains fine on a laptop can fail on Colab. Pad on the right.

Eligibility here describes the configuration only: it does not ask whether a GPU is present
(on a CPU every layer runs the generic loop anyway).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import ops

_TANH = (keras.activations.tanh, tf.tanh, ops.tanh)
_SIGMOID = (keras.activations.sigmoid, tf.sigmoid, ops.sigmoid)


class CudnnCheck(NamedTuple):
    """``(eligible, reasons)``: ``reasons`` lists every rule broken (empty when eligible)."""

    eligible: bool
    reasons: list[str]


def _name(function: Any) -> str:
    return getattr(function, "__name__", repr(function))


def _layer_reasons(layer: keras.layers.Layer) -> list[str]:
    """The rules a single (not bidirectional) recurrent layer breaks."""
    if not isinstance(layer, keras.layers.RNN):
        raise ValueError(
            f"check_cudnn expects a recurrent layer (LSTM, GRU, SimpleRNN, RNN or a "
            f"Bidirectional wrapping one), got {type(layer).__name__}."
        )
    if not isinstance(layer, keras.layers.LSTM | keras.layers.GRU):
        cell = type(layer.cell).__name__
        return [
            f"{type(layer).__name__} (cell {cell}) has no cuDNN kernel: only the "
            "keras.layers.LSTM and keras.layers.GRU layer classes have one"
        ]
    cell = layer.cell
    reasons = []
    if layer.use_cudnn not in ("auto", True):
        reasons.append("use_cudnn=False turns the cuDNN kernel off")
    if cell.activation not in _TANH:
        reasons.append(f"activation is {_name(cell.activation)}, cuDNN needs tanh")
    if cell.recurrent_activation not in _SIGMOID:
        reasons.append(
            f"recurrent_activation is {_name(cell.recurrent_activation)}, cuDNN needs sigmoid"
        )
    if cell.recurrent_dropout:
        reasons.append(
            f"recurrent_dropout={cell.recurrent_dropout} (cuDNN needs 0; input dropout is fine)"
        )
    if layer.unroll:
        reasons.append("unroll=True (cuDNN needs unroll=False)")
    if not cell.use_bias:
        reasons.append("use_bias=False (cuDNN needs use_bias=True)")
    if isinstance(layer, keras.layers.GRU) and not cell.reset_after:
        reasons.append("reset_after=False (the cuDNN GRU needs reset_after=True)")
    return reasons


def check_cudnn(layer: keras.layers.Layer) -> CudnnCheck:
    """Whether ``layer`` can run on the cuDNN kernel on a GPU, and every rule it breaks.

    Args:
        layer: a Keras recurrent layer: ``LSTM``, ``GRU``, ``SimpleRNN``, a generic
            ``keras.layers.RNN``, or a ``Bidirectional`` wrapping one of them. It need not be
            built.

    Returns:
        ``CudnnCheck(eligible, reasons)``, a named tuple: ``eligible`` is True when the
        configuration meets every rule of Keras's dispatch (module docstring);
        ``reasons`` names each rule broken, in words, so a notebook can print them. For a
        ``Bidirectional`` layer the reasons say which direction breaks them.

    Raises:
        ValueError: if ``layer`` is not a recurrent layer.

    The masks the layer receives at run time must also be strictly right-padded, with no fully
    masked row: :func:`check_cudnn_mask` checks a batch.
    """
    if isinstance(layer, keras.layers.Bidirectional):
        forward = _layer_reasons(layer.forward_layer)
        backward = _layer_reasons(layer.backward_layer)
        reasons = [f"both directions: {r}" for r in forward if r in backward]
        reasons += [f"forward layer: {r}" for r in forward if r not in backward]
        reasons += [f"backward layer: {r}" for r in backward if r not in forward]
    else:
        reasons = _layer_reasons(layer)
    return CudnnCheck(not reasons, reasons)


def check_cudnn_mask(mask: Any) -> CudnnCheck:
    """Whether a batch's mask meets cuDNN's run-time rule, and which rows break it.

    Args:
        mask: booleans of shape ``(batch, timesteps)``, True at real steps, as produced by
            ``Embedding(mask_zero=True).compute_mask(ids)`` (a tensor or an array).

    Returns:
        ``CudnnCheck(ok, reasons)``: ``ok`` when every row is strictly right-padded (its True
        steps first, then only False) and no row is fully masked, the two conditions of Keras's
        ``_assert_valid_mask`` in ``keras/src/backend/tensorflow/rnn.py``.

    Raises:
        ValueError: if ``mask`` is not two-dimensional.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must have shape (batch, timesteps), got shape {mask.shape}.")
    lengths = mask.sum(axis=1)
    right_padded = np.arange(mask.shape[1])[None, :] < lengths[:, None]
    reasons = []
    not_right_padded = np.flatnonzero((mask != right_padded).any(axis=1))
    if not_right_padded.size:
        reasons.append(
            f"rows {not_right_padded.tolist()} are not strictly right-padded "
            "(a masked step comes before a real one): pad on the right"
        )
    fully_masked = np.flatnonzero(lengths == 0)
    if fully_masked.size:
        reasons.append(f"rows {fully_masked.tolist()} are fully masked (no real step)")
    return CudnnCheck(not reasons, reasons)
