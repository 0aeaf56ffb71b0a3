"""Tests for utils.plots: what the training-curve figures contain."""

import matplotlib

matplotlib.use("Agg")

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils.plots import plot_attention_maps, plot_histories, plot_history

HISTORY = {
    "loss": [0.7, 0.5, 0.4],
    "accuracy": [0.5, 0.7, 0.8],
    "val_loss": [0.6, 0.5, 0.55],
    "val_accuracy": [0.6, 0.75, 0.74],
}


def test_plot_history_draws_train_and_validation_per_metric():
    figure = plot_history(HISTORY, title="demo")
    axes = figure.axes
    assert [a.get_title() for a in axes] == ["Loss per epoch", "Accuracy per epoch"]
    assert all(a.get_xlabel() == "Epoch" for a in axes)
    loss_lines = axes[0].get_lines()
    assert [line.get_label() for line in loss_lines] == ["train", "validation"]
    assert list(loss_lines[0].get_xdata()) == [1, 2, 3]
    assert list(loss_lines[1].get_ydata()) == HISTORY["val_loss"]
    assert figure._suptitle.get_text() == "demo"
    plt.close(figure)


@pytest.mark.parametrize("epochs", [2, 3, 7])
def test_epoch_ticks_are_whole_numbers(epochs):
    """Short runs must not get ticks at epoch 1.5 or 2.5 (matplotlib's default would)."""
    figure = plot_history({"loss": [1.0 / (e + 1) for e in range(epochs)]}, metrics=("loss",))
    figure.canvas.draw()
    ticks = figure.axes[0].get_xticks()
    assert len(ticks) >= 2
    assert all(float(tick).is_integer() for tick in ticks), ticks
    plt.close(figure)


def test_plot_history_accepts_a_keras_history_object():
    history = keras.callbacks.History()
    history.history = {"loss": [1.0, 0.5]}
    figure = plot_history(history, metrics=("loss",))
    assert len(figure.axes) == 1
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["train"]
    plt.close(figure)


def test_plot_histories_labels_each_run():
    figure = plot_histories({"LSTM": HISTORY, "GRU": HISTORY}, metrics=("accuracy",))
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels == ["LSTM train", "LSTM validation", "GRU train", "GRU validation"]
    plt.close(figure)


def test_missing_metric_names_the_recorded_ones():
    with pytest.raises(KeyError, match=r"'auc' was not recorded.*'accuracy'"):
        plot_history(HISTORY, metrics=("auc",))
    plt.close("all")


def test_wrong_input_type_and_empty_input_raise_clear_errors():
    with pytest.raises(TypeError, match=r"keras\.callbacks\.History"):
        plot_history([0.1, 0.2])
    with pytest.raises(ValueError, match="at least one history"):
        plot_histories({})
    plt.close("all")


def test_plot_attention_maps_draws_each_words_map_over_the_image():
    image = np.zeros((12, 12))
    maps = np.zeros((2, 3, 3))
    maps[0, 0, 2] = maps[1, 2, 0] = 1.0  # top right, then bottom left
    figure = plot_attention_maps(image, ["a", "b"], maps, title="where")
    axes = figure.axes
    assert [axis.get_title() for axis in axes] == ["a", "b"]
    assert figure._suptitle.get_text() == "where"
    overlay = axes[0].get_images()[1].get_array()
    assert overlay.shape == (12, 12) and overlay[:4, 8:].min() == 1 and overlay.sum() == 16
    assert axes[1].get_images()[1].get_array()[8:, :4].min() == 1
    plt.close(figure)


def test_plot_attention_maps_refuses_maps_that_do_not_fit():
    with pytest.raises(ValueError, match="one 2-D map per word"):
        plot_attention_maps(np.zeros((12, 12)), ["a"], np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="does not tile"):
        plot_attention_maps(np.zeros((12, 12)), ["a"], np.zeros((1, 5, 5)))
