"""Plots shared by the training notebooks. This module draws; it never trains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

_LABELS = {"loss": "Loss", "accuracy": "Accuracy"}


def _history_dict(history: Any) -> Mapping[str, Sequence[float]]:
    """Accept a Keras ``History`` or its ``.history`` dict."""
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping):
        raise TypeError(
            "Expected a keras.callbacks.History (what model.fit returns) or its .history dict, "
            f"got {type(history).__name__}."
        )
    return values


def plot_history(
    history: Any, metrics: Sequence[str] = ("loss", "accuracy"), title: str | None = None
) -> Figure:
    """Training curves from one ``model.fit``: one panel per metric, train vs validation.

    Raises:
        KeyError: if a requested metric was not recorded, naming the ones that were.
    """
    return plot_histories({"": history}, metrics=metrics, title=title)


def plot_histories(
    histories: Mapping[str, Any],
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str | None = None,
) -> Figure:
    """Compare several training runs: one panel per metric, one colour per run.

    Solid lines are training values, dashed lines validation values (when recorded).
    Epochs are numbered from 1, as Keras prints them.
    """
    if not histories:
        raise ValueError("Pass at least one history to plot.")
    figure, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for run, (name, history) in enumerate(histories.items()):
        values = _history_dict(history)
        colour = colours[run % len(colours)]
        for axis, metric in zip(axes[0], metrics, strict=True):
            if metric not in values:
                raise KeyError(f"{metric!r} was not recorded; this history has {sorted(values)}.")
            epochs = range(1, len(values[metric]) + 1)
            prefix = f"{name} " if name else ""
            axis.plot(epochs, values[metric], "-o", color=colour, ms=3, label=f"{prefix}train")
            if f"val_{metric}" in values:
                axis.plot(
                    epochs,
                    values[f"val_{metric}"],
                    "--s",
                    color=colour,
                    ms=3,
                    label=f"{prefix}validation",
                )
    for axis, metric in zip(axes[0], metrics, strict=True):
        axis.set_xlabel("Epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5
        axis.set_ylabel(_LABELS.get(metric, metric))
        axis.set_title(f"{_LABELS.get(metric, metric)} per epoch")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_attention_maps(
    image: np.ndarray, words: Sequence[str], maps: np.ndarray, title: str | None = None
) -> Figure:
    """One panel per written word: the image, and over it where the decoder looked.

    ``maps`` holds one (rows, columns) grid of attention weights per word; each weight covers
    its cell of the image, so the grid is upsampled to the image's size (``np.kron``) and drawn
    over it.
    """
    maps = np.asarray(maps)
    if maps.ndim != 3 or len(maps) != len(words):
        raise ValueError(
            f"Expected one 2-D map per word: {len(words)} words, maps of shape {maps.shape}."
        )
    cell = (image.shape[0] // maps.shape[1], image.shape[1] // maps.shape[2])
    if cell[0] * maps.shape[1] != image.shape[0] or cell[1] * maps.shape[2] != image.shape[1]:
        raise ValueError(f"A {maps.shape[1:]} grid does not tile an image of {image.shape}.")
    figure, axes = plt.subplots(1, len(words), figsize=(1.55 * len(words), 2.1), squeeze=False)
    for axis, word, weights in zip(axes[0], words, maps, strict=True):
        axis.imshow(image, cmap="gray_r", vmin=0, vmax=1)
        axis.imshow(np.kron(weights, np.ones(cell)), cmap="inferno", alpha=0.55, vmin=0)
        axis.set_title(word, fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
