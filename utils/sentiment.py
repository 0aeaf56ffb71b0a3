"""The many-to-one sentiment recipes of notebooks 06 and 07, shared with their solutions.

Notebook 06: the lecture's snippet as written (:func:`lecture_snippet`), the same three layers
regularised (:func:`regularised_classifier`, every addition a switch, so an ablation can turn
them off one at a time), and the one way every model is trained (:func:`fit_best_epoch`: seed,
build, fit with early stopping on validation accuracy). Notebook 07 stacks and reverses the
recurrent layer (:func:`stacked_classifier`), trains and tests on fresh pipelines
(:func:`fit_and_test`), and compares with the keras.io example (:func:`keras_io_classifier`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from utils.config import seed_everything
from utils.training import EpochTimer, results_row

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
    recurrent_layer: keras.layers.Layer
    | Callable[[], keras.layers.Layer | Sequence[keras.layers.Layer]],
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

    ``recurrent_layer`` is passed in already made, as ``keras.layers.LSTM(32)``, or as a
    function that makes one layer or a stack of them, called after the dropout layers below it
    are made (as a hand-written list of layers would make them). The order in which layers are
    made is part of what a seed reproduces: each dropout layer draws its own seed when made.
    """
    layers = [
        keras.Input(shape=(None,), dtype="int64"),
        keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=mask),
    ]
    if word_dropout:
        layers.append(keras.layers.Dropout(word_dropout, noise_shape=(None, None, 1)))
    if dropout:
        layers.append(keras.layers.SpatialDropout1D(dropout))
    is_layer = isinstance(recurrent_layer, keras.layers.Layer)  # a layer is callable too
    made = recurrent_layer if is_layer else recurrent_layer()
    layers.extend(made if isinstance(made, Sequence) else [made])
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
    val_data: tf.data.Dataset | Callable[[], tf.data.Dataset],
    label: str,
    *,
    epochs: int,
    schedule: bool = True,
    early_stopping: bool = True,
    min_delta: float = 0.0,
    seed: int = 42,
) -> tuple[keras.Model, keras.callbacks.History, EpochTimer]:
    """Seed, build, then fit for up to ``epochs`` and keep the best validation epoch's weights.

    The seed is set first, so the weights, the dropout masks and the data order depend on
    ``seed`` alone, not on what ran before; ``train_data`` makes a fresh pipeline for the same
    reason (``val_data`` may be a function too, called after ``train_data``). With
    ``early_stopping``, training stops two epochs after the best validation accuracy (a gain
    counts only above ``min_delta``). With ``schedule``, the learning rate halves whenever the
    validation loss stalls for an epoch.

    Returns:
        The model (best validation weights restored), its history and its :class:`EpochTimer`.
    """
    seed_everything(seed)
    model, timer = build(), EpochTimer()
    callbacks: list[keras.callbacks.Callback] = [timer]
    if schedule:
        callbacks.append(keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=1))
    if early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                "val_accuracy", patience=2, min_delta=min_delta, restore_best_weights=True
            )
        )
    print(f"--- {label}")
    history = model.fit(
        train_data(),
        validation_data=val_data() if callable(val_data) else val_data,
        epochs=epochs,
        callbacks=callbacks,
        verbose=2,
    )
    return model, history, timer


class TrainedClassifier(NamedTuple):
    """What :func:`fit_and_test` returns: the model and everything needed to report on it."""

    model: keras.Model
    data: dict[str, tf.data.Dataset]  # the "train", "val" and "test" pipelines it used
    history: keras.callbacks.History
    row: dict[str, Any]  # a results-table row, with the test accuracy


def fit_and_test(
    build: Callable[[], keras.Model],
    make_data: Callable[[], dict[str, tf.data.Dataset]],
    label: str,
    *,
    epochs: int,
    schedule: bool = True,
    seed: int = 42,
    min_delta: float = 0.0,
) -> TrainedClassifier:
    """:func:`fit_best_epoch` on fresh pipelines, then the test accuracy, measured once.

    ``make_data`` returns the ``"train"``, ``"val"`` and ``"test"`` pipelines; it is called
    after the seed is set and the model built, so the data order depends on ``seed`` alone.
    ``schedule=False`` turns off both the learning-rate schedule and early stopping: the model
    trains for exactly ``epochs``, as a published recipe without them does.
    """
    data: dict[str, tf.data.Dataset] = {}

    def training_data() -> tf.data.Dataset:
        data.update(make_data())
        return data["train"]

    model, history, timer = fit_best_epoch(
        build,
        training_data,
        lambda: data["val"],
        label,
        epochs=epochs,
        schedule=schedule,
        early_stopping=schedule,
        min_delta=min_delta,
        seed=seed,
    )
    ran = len(history.epoch)
    ending = " (the cap)" if ran == epochs else ", ended by early stopping"
    print(f"{label}: {ran} epochs{ending}")
    _, test_accuracy = model.evaluate(data["test"], verbose=0)
    row = {**results_row(label, model, history, timer, test_accuracy=test_accuracy), "seeds": 1}
    return TrainedClassifier(model, data, history, row)


def stacked_classifier(
    depth: int,
    bidirectional: bool,
    *,
    vocabulary_size: int,
    units: int = 32,
    embedding_dim: int = 32,
    name: str = "",
    **recurrent_options: Any,
) -> keras.Model:
    """Notebook 07's reviews model: ``depth`` LSTM layers in :func:`regularised_classifier`.

    Each layer is an ``LSTM(units)``, wrapped in ``Bidirectional`` when ``bidirectional``; all
    but the last return their whole sequence of states, which the next layer recurs over.
    ``recurrent_options`` go to every LSTM (``recurrent_dropout=0.2`` ...).
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}.")

    def recurrent_layers() -> list[keras.layers.Layer]:
        made = []
        for level in range(depth):
            lstm = keras.layers.LSTM(units, return_sequences=level < depth - 1, **recurrent_options)
            made.append(keras.layers.Bidirectional(lstm) if bidirectional else lstm)
        return made

    return regularised_classifier(
        recurrent_layers,
        name or f"{'bi' if bidirectional else 'uni'}_{depth}",
        vocabulary_size=vocabulary_size,
        embedding_dim=embedding_dim,
    )


def keras_io_classifier(vocabulary_size: int, sequence_length: int) -> keras.Model:
    """The keras.io example *Bidirectional LSTM on IMDB* as published: no masking, no dropout.

    ``Embedding(vocabulary_size, 128)``, two ``Bidirectional(LSTM(64))`` layers and a sigmoid,
    compiled with Adam; it expects rows of ``sequence_length`` ids padded on the left.
    """
    model = keras.Sequential(
        [
            keras.Input(shape=(sequence_length,), dtype="int64"),
            keras.layers.Embedding(vocabulary_size, 128),
            keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True)),
            keras.layers.Bidirectional(keras.layers.LSTM(64)),
            keras.layers.Dense(1, activation="sigmoid"),
        ],
        name="keras_io_reference",
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model
