"""Notebook 07's bracket-matching models: one LSTM reading forward, backward, or both ways.

Each model labels every position of a sequence of ``utils.tasks.bracket_task`` tokens (is this
bracket matched?), so the three differ only in what each answer has read: the past (forward),
the future (backward: the sequence is flipped, read, and the answers flipped back into place),
or both (``Bidirectional``). Notebook 07 and its solutions train them.
"""

from __future__ import annotations

import keras

DIRECTIONS = ("forward", "backward", "bidirectional")
ONE_WAY_UNITS, BIDIRECTIONAL_UNITS = 48, 32
"""LSTM sizes that give the one-way and the bidirectional models about the same parameters."""


def bracket_model(
    direction: str, length: int = 30, units: int | None = None, merge_mode: str = "concat"
) -> keras.Model:
    """``Embedding(4, 8) → LSTM (one answer per step) → Dense(1, sigmoid)``, compiled.

    ``units`` defaults to 48 one way and 32 per direction both ways (about the same
    parameters); ``merge_mode`` says how ``Bidirectional`` joins its two directions. The loss
    is binary cross-entropy and the accuracy a weighted metric, so sample weights of 0 leave
    filler positions out of both.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}.")
    bidirectional = direction == "bidirectional"
    if units is None:
        units = BIDIRECTIONAL_UNITS if bidirectional else ONE_WAY_UNITS
    inputs = keras.Input(shape=(length,), dtype="int32")
    x = keras.layers.Embedding(4, 8)(inputs)
    if direction == "backward":
        x = keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=1))(x)
    lstm = keras.layers.LSTM(units, return_sequences=True)
    x = (keras.layers.Bidirectional(lstm, merge_mode=merge_mode) if bidirectional else lstm)(x)
    if direction == "backward":
        x = keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=1))(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs, name=direction)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="binary_crossentropy",
        weighted_metrics=["accuracy"],
    )
    return model
