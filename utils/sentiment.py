"""Notebook 06's many-to-one sentiment recipe, shared with its solutions.

Three pieces: the lecture's snippet as written (:func:`lecture_snippet`), the same three layers
regularised (:func:`regularised_classifier`, every addition a switch, so an ablation can turn
them off one at a time), and the one way every model of the notebook is trained
(:func:`fit_best_epoch`: seed, build, fit with early stopping on validation accuracy).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from utils.config import seed_everything
from utils.training import EpochTimer

SNIPPET_UNITS = 32
"""The lecture's snippet: ``Embedding(max_features, 32)`` and ``LSTM(32)``."""


def lecture_snippet(
    vocabulary_size: int, sequence_length: int | None, mask_zero: bool = False
) -> keras.Model:
    """``Embedding(vocabulary_size, 32) → LSTM(32) → Dense(1, sigmoid)``, compiled with Adam.

    The lecture's three layers with Keras's defaults and nothing else. ``mask_zero=True`` makes
    the LSTM skip padding (id 0); ``sequence_length=None`` accepts batches of any width, as
    length-bucketed batches need.
    """
    model = keras.Sequential(
        [
            keras.Input(shape=(sequence_length,), dtype="int64"),
            keras.layers.Embedding(vocabulary_size, SNIPPET_UNITS, mask_zero=mask_zero),
            keras.layers.LSTM(SNIPPET_UNITS),
            keras.layers.Dense(1, activation="sigmoid"),
        ],
        name="lecture_snippet",
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def regularised_classifier(
    recurrent_layer: keras.layers.Layer,
    name: str,
    *,
    vocabulary_size: int,
    embedding_dim: int,
    mask: bool = True,
    word_dropout: float = 0.25,
    dropout: float = 0.5,
    weight_decay: float = 0.01,
    clipnorm: float | None = 1.0,
) -> keras.Model:
    """The lecture's ``Embedding → RNN → Dense(sigmoid)`` with masking and dropout around it.

    ``word_dropout`` blanks whole words (``noise_shape=(batch, steps, 1)``), ``dropout`` drops
    embedding channels (``SpatialDropout1D``) and the classifier's input; the optimiser is
    AdamW at 1e-3 with ``weight_decay`` and gradient clipping at ``clipnorm``. A zero (or
    ``None`` for ``clipnorm``) switches an addition off. The input takes batches of any width.

    ``recurrent_layer`` is passed in already made, as ``keras.layers.LSTM(32)``: a layer's
    initial weights are drawn when it is made, so making it before the embedding is part of
    what a seed reproduces.
    """
    layers = [
        keras.Input(shape=(None,), dtype="int64"),
        keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=mask),
    ]
    if word_dropout:
        layers.append(keras.layers.Dropout(word_dropout, noise_shape=(None, None, 1)))
    if dropout:
        layers.append(keras.layers.SpatialDropout1D(dropout))
    layers.append(recurrent_layer)
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    model = keras.Sequential(layers, name=name)
    optimizer = keras.optimizers.AdamW(1e-3, weight_decay=weight_decay, clipnorm=clipnorm)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


def fit_best_epoch(
    build: Callable[[], keras.Model],
    train_data: Callable[[], tf.data.Dataset],
    val_data: tf.data.Dataset,
    label: str,
    *,
    epochs: int,
    schedule: bool = True,
    seed: int = 42,
) -> tuple[keras.Model, keras.callbacks.History, EpochTimer]:
    """Seed, build, then fit for up to ``epochs`` and keep the best validation epoch's weights.

    The seed is set first, so the weights, the dropout masks and the data order depend on
    ``seed`` alone, not on what ran before; ``train_data`` makes a fresh pipeline for the same
    reason. Training stops two epochs after the best validation accuracy. With ``schedule``,
    the learning rate halves whenever the validation loss stalls for an epoch.

    Returns:
        The model (best validation weights restored), its history and its :class:`EpochTimer`.
    """
    seed_everything(seed)
    model, timer = build(), EpochTimer()
    callbacks: list[keras.callbacks.Callback] = [timer]
    if schedule:
        callbacks.append(keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=1))
    callbacks.append(
        keras.callbacks.EarlyStopping("val_accuracy", patience=2, restore_best_weights=True)
    )
    print(f"--- {label}")
    history = model.fit(
        train_data(), validation_data=val_data, epochs=epochs, callbacks=callbacks, verbose=2
    )
    return model, history, timer
