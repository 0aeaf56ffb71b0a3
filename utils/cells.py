"""Two LSTM variants from the lecture, as Keras cells: the peephole LSTM and the coupled LSTM.

Keras 3 ships only the standard ``LSTMCell``; these cells add the two variants the lecture
shows, so notebooks 04 and 05 can train them next to the built-in layers. Both subclass
``keras.layers.LSTMCell``, so they take the same constructor arguments (``units``,
``activation``, ``recurrent_activation``, initialisers including ``unit_forget_bias``,
regularisers, constraints, ``dropout``, ``recurrent_dropout``, ``seed``), keep its
``state_size = [units, units]`` (states ``[h, C]``) and its dropout-mask handling, and run
inside ``keras.layers.RNN``. They are registered with Keras, so a model that uses them saves to
and loads from a ``.keras`` file once this module is imported.

The custom cells always run Keras's generic step-by-step loop; only the built-in
``keras.layers.LSTM`` layer can switch to the fused cuDNN kernel on a GPU.

Dropout: one input mask and one recurrent mask, shared by all gates and all time steps
(variational dropout, as Keras's default ``LSTMCell`` implementation does for the input).

This module uses ``keras`` and ``keras.ops`` only.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

_PACKAGE = "rnn_course"


class _LSTMVariantCell(keras.layers.LSTMCell):
    """Shared behaviour of the two variants: dropout on the step inputs and the fused matmul."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        # One mask for all gates (LSTMCell asks for four when recurrent_dropout is set).
        self.dropout_mask_count = None

    def _pre_activations(
        self, inputs: Any, h_tm1: Any, training: bool | None, blocks: int
    ) -> list[Any]:
        """``x_t W_x + h_{t-1} W_h + b``, split into ``blocks`` per-gate pre-activations."""
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_tm1, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        return ops.split(z, blocks, axis=-1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PeepholeLSTMCell(_LSTMVariantCell):
    """LSTM cell whose gates also look at the cell state (Gers & Schmidhuber, 2000).

    .. math::

        f_t &= \\sigma(W_f [h_{t-1}, x_t] + p_f \\odot C_{t-1} + b_f) \\\\
        i_t &= \\sigma(W_i [h_{t-1}, x_t] + p_i \\odot C_{t-1} + b_i) \\\\
        C_t &= f_t \\odot C_{t-1} + i_t \\odot \\tanh(W_C [h_{t-1}, x_t] + b_C) \\\\
        o_t &= \\sigma(W_o [h_{t-1}, x_t] + p_o \\odot C_t + b_o) \\\\
        h_t &= o_t \\odot \\tanh(C_t)

    The peephole weights ``p_i, p_f, p_o`` are *diagonal*: one weight per unit (vectors of
    shape ``(units,)``, multiplied element-wise), as in Gers & Schmidhuber's paper and Keras 2's
    ``PeepholeLSTMCell``. The lecture writes a full matrix acting on ``[C_{t-1}, h_{t-1}, x_t]``;
    the diagonal form lets unit ``j``'s gates see only its own cell ``C_t[j]``, and adds
    ``3 * units`` parameters instead of ``3 * units**2``.

    Weights, in ``get_weights()`` order: ``kernel`` ``(input_dim, 4 * units)``,
    ``recurrent_kernel`` ``(units, 4 * units)``, ``bias`` ``(4 * units,)`` (gate order
    i, f, c, o, as in ``LSTMCell``), then ``input_gate_peephole_weights``,
    ``forget_gate_peephole_weights`` and ``output_gate_peephole_weights``, each ``(units,)``.
    With all three set to zero the cell computes exactly what ``LSTMCell`` computes.

    Args:
        units: size of ``h_t`` and ``C_t``.
        peephole_initializer: initialiser of the three peephole vectors (default
            ``"glorot_uniform"``, what Keras 2 used through ``kernel_initializer``).
        **kwargs: every other ``keras.layers.LSTMCell`` argument.
    """

    def __init__(
        self, units: int, peephole_initializer: Any = "glorot_uniform", **kwargs: Any
    ) -> None:
        super().__init__(units, **kwargs)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        super().build(input_shape)
        self.input_gate_peephole_weights = self._add_peephole("input")
        self.forget_gate_peephole_weights = self._add_peephole("forget")
        self.output_gate_peephole_weights = self._add_peephole("output")

    def _add_peephole(self, gate: str) -> Any:
        """One diagonal peephole: a ``(units,)`` vector that multiplies the cell state."""
        return self.add_weight(
            shape=(self.units,),
            name=f"{gate}_gate_peephole_weights",
            initializer=self.peephole_initializer,
        )

    def call(self, inputs: Any, states: list[Any], training: bool | None = False):
        h_tm1, c_tm1 = states
        z_i, z_f, z_c, z_o = self._pre_activations(inputs, h_tm1, training, blocks=4)
        i = self.recurrent_activation(z_i + self.input_gate_peephole_weights * c_tm1)
        f = self.recurrent_activation(z_f + self.forget_gate_peephole_weights * c_tm1)
        c = f * c_tm1 + i * self.activation(z_c)
        o = self.recurrent_activation(z_o + self.output_gate_peephole_weights * c)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "peephole_initializer": keras.initializers.serialize(self.peephole_initializer),
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CoupledLSTMCell(_LSTMVariantCell):
    """LSTM cell whose input gate is tied to its forget gate: ``i_t = 1 - f_t``.

    .. math::

        f_t &= \\sigma(W_f [h_{t-1}, x_t] + b_f) \\\\
        C_t &= f_t \\odot C_{t-1} + (1 - f_t) \\odot \\tanh(W_C [h_{t-1}, x_t] + b_C) \\\\
        o_t &= \\sigma(W_o [h_{t-1}, x_t] + b_o), \\qquad h_t = o_t \\odot \\tanh(C_t)

    Whatever the cell forgets is replaced by new content, and vice versa: ``C_t`` is a
    convex mix of the old state and the candidate. With no input gate of its own the cell has
    three weight blocks instead of four: ``kernel`` ``(input_dim, 3 * units)``,
    ``recurrent_kernel`` ``(units, 3 * units)`` and ``bias`` ``(3 * units,)``, in gate order
    f, c, o. ``unit_forget_bias=True`` (the default) starts ``b_f`` at one, as in ``LSTMCell``.

    Args:
        units: size of ``h_t`` and ``C_t``.
        **kwargs: every other ``keras.layers.LSTMCell`` argument.
    """

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        # Not LSTMCell.build: that one makes four blocks.
        keras.layers.Layer.build(self, input_shape)
        self.kernel = self.add_weight(
            shape=(input_shape[-1], 3 * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 3 * self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(3 * self.units,),
                name="bias",
                initializer=self._bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _bias_initializer(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        """``bias_initializer`` for every block, except ones for ``b_f`` if ``unit_forget_bias``."""
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        forget = keras.initializers.Ones()((self.units,), dtype=dtype)
        rest = self.bias_initializer((2 * self.units,), dtype=dtype)
        return ops.concatenate([forget, rest])

    def call(self, inputs: Any, states: list[Any], training: bool | None = False):
        h_tm1, c_tm1 = states
        z_f, z_c, z_o = self._pre_activations(inputs, h_tm1, training, blocks=3)
        f = self.recurrent_activation(z_f)
        c = f * c_tm1 + (1.0 - f) * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]
