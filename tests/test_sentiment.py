"""Tests for utils.sentiment."""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils.sentiment import (
    fit_and_test,
    fit_best_epoch,
    keras_io_classifier,
    lecture_snippet,
    regularised_classifier,
    stacked_classifier,
)


def layer_types(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def word_ids(seed: int, reviews: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Reviews of 8 word ids, right-padded; the label is whether word 3 occurs."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(4, 20, size=(reviews, 8))
    labels = rng.integers(0, 2, size=reviews)
    ids[labels == 1, 2] = 3
    ids[:, 6:] = 0
    return ids, labels.astype("float32")


def batches(seed: int) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices(word_ids(seed)).shuffle(64, seed=0).batch(16)


def test_lecture_snippet_is_the_three_layers_with_the_mask_asked_for():
    snippet = lecture_snippet(20, 8)
    assert layer_types(snippet) == ["Embedding", "LSTM", "Dense"]
    assert not snippet.layers[0].mask_zero and snippet.input_shape == (None, 8)
    embedding, lstm, dense = snippet.layers
    assert (embedding.input_dim, embedding.output_dim, lstm.units) == (20, 32, 32)
    assert dense.activation is keras.activations.sigmoid
    assert isinstance(snippet.optimizer, keras.optimizers.Adam)

    masked = lecture_snippet(20, None, mask_zero=True)
    assert masked.layers[0].mask_zero and masked.input_shape == (None, None)
    ids, _ = word_ids(0, reviews=2)
    # With the mask, padding changes nothing: the reviews without their padding score the same.
    np.testing.assert_allclose(masked(ids), masked(ids[:, :6]), atol=1e-6)


def test_regularised_classifier_has_every_addition_and_each_switches_off():
    full = regularised_classifier(
        keras.layers.GRU(3), "recipe", vocabulary_size=20, embedding_dim=4
    )
    assert layer_types(full) == [
        "Embedding",
        "Dropout",
        "SpatialDropout1D",
        "GRU",
        "Dropout",
        "Dense",
    ]
    assert full.layers[0].mask_zero and full.name == "recipe"
    assert full.layers[1].rate == 0.25 and full.layers[1].noise_shape == (None, None, 1)
    assert full.layers[2].rate == 0.5 and full.layers[4].rate == 0.5
    optimizer = full.optimizer
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert optimizer.weight_decay == 0.01 and optimizer.clipnorm == 1.0

    bare = regularised_classifier(
        keras.layers.LSTM(3),
        "bare",
        vocabulary_size=20,
        embedding_dim=4,
        mask=False,
        word_dropout=0,
        dropout=0,
        weight_decay=0,
        clipnorm=None,
    )
    assert layer_types(bare) == ["Embedding", "LSTM", "Dense"]
    assert not bare.layers[0].mask_zero
    assert bare.optimizer.weight_decay == 0 and bare.optimizer.clipnorm is None


def test_fit_best_epoch_keeps_the_best_validation_epoch_and_is_reproducible_by_seed(capsys):
    def build() -> keras.Model:
        return regularised_classifier(
            keras.layers.LSTM(4), "tiny", vocabulary_size=20, embedding_dim=4
        )

    def train_data() -> tf.data.Dataset:
        return batches(0)

    model, history, timer = fit_best_epoch(build, train_data, batches(1), "tiny", epochs=3)
    assert capsys.readouterr().out.startswith("--- tiny")
    assert len(timer.epoch_seconds) == len(history.epoch) <= 3
    assert "learning_rate" in history.history  # the schedule's callback logs the rate
    _, accuracy = model.evaluate(batches(1), verbose=0)
    assert accuracy == pytest.approx(max(history.history["val_accuracy"]))

    random.random()  # whatever ran in between must not matter
    _, again, _ = fit_best_epoch(build, train_data, batches(1), "tiny", epochs=3)
    _, other, _ = fit_best_epoch(build, train_data, batches(1), "tiny", epochs=3, seed=7)
    assert again.history["loss"] == history.history["loss"]
    assert other.history["loss"] != history.history["loss"]

    _, unscheduled, _ = fit_best_epoch(
        build, train_data, batches(1), "tiny", epochs=1, schedule=False
    )
    assert "learning_rate" not in unscheduled.history


def test_stacked_classifier_stacks_sequences_below_the_top_layer():
    model = stacked_classifier(3, True, vocabulary_size=20, units=4, recurrent_dropout=0.1)
    stack = [layer for layer in model.layers if type(layer).__name__ == "Bidirectional"]
    assert [layer.forward_layer.return_sequences for layer in stack] == [True, True, False]
    assert all(layer.forward_layer.recurrent_dropout == 0.1 for layer in stack)
    assert model.name == "bi_3"
    assert layer_types(stacked_classifier(1, False, vocabulary_size=20)) == layer_types(
        regularised_classifier(keras.layers.LSTM(32), "one", vocabulary_size=20, embedding_dim=32)
    )
    with pytest.raises(ValueError, match="at least 1"):
        stacked_classifier(0, False, vocabulary_size=20)


def test_a_function_of_layers_is_made_after_the_dropout_layers_below_it():
    made = []

    def recurrent() -> keras.layers.Layer:
        made.append(keras.layers.LSTM(4))
        return made[-1]

    model = regularised_classifier(recurrent, "late", vocabulary_size=20, embedding_dim=4)
    assert model.layers.index(made[0]) == 3  # embedding, word dropout, spatial dropout, LSTM


def test_fit_and_test_reports_the_test_accuracy_on_its_own_pipelines(capsys):
    def make_data() -> dict[str, tf.data.Dataset]:
        return {"train": batches(0), "val": batches(1), "test": batches(2)}

    def build() -> keras.Model:
        return stacked_classifier(1, False, vocabulary_size=20, units=4, embedding_dim=4)

    run = fit_and_test(build, make_data, "tiny", epochs=2, schedule=False)
    out = capsys.readouterr().out
    assert out.startswith("--- tiny") and "tiny: 2 epochs (the cap)" in out
    assert "learning_rate" not in run.history.history and len(run.history.epoch) == 2
    _, accuracy = run.model.evaluate(batches(2), verbose=0)
    assert run.row["test_accuracy"] == pytest.approx(accuracy) and run.row["seeds"] == 1
    assert set(run.data) == {"train", "val", "test"}
    again = fit_and_test(build, make_data, "tiny", epochs=2, schedule=False)
    assert again.history.history["loss"] == run.history.history["loss"]


def test_keras_io_classifier_is_the_published_configuration():
    model = keras_io_classifier(50, 12)
    assert layer_types(model) == ["Embedding", "Bidirectional", "Bidirectional", "Dense"]
    assert model.input_shape == (None, 12) and not model.layers[0].mask_zero
    assert model.layers[0].output_dim == 128 and model.layers[1].forward_layer.units == 64
