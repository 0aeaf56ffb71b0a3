"""Plots shared by the training notebooks. This module draws; it never trains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
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
