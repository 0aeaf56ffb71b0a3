"""Forecasting one series with windows, baselines and small networks: notebook 09's recipes.

Notebook 09 forecasts the weekly Mauna Loa CO₂ series up to ``horizon`` steps ahead, and its
solutions rerun the same experiment with other windows, inputs and targets. What both need lives
here, one way: the targets (:func:`change_targets`), the forecast origins and their windows
(:class:`Windows`), the baselines any model must beat (:func:`seasonal_baselines`), the error by
horizon (:func:`mae_by_horizon`), and the three forecasters and how each is trained
(:func:`build_forecaster`, :func:`train_forecaster`).

Vocabulary: a **forecast origin** ``t`` is the last step a model sees; it forecasts steps
``t + 1 .. t + horizon``. Everything is indexed by origin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from utils.training import EpochTimer

KINDS = ("Dense", "GRU", "LSTM")
"""The forecasters :func:`build_forecaster` makes."""


def change_targets(levels: np.ndarray, horizon: int) -> np.ndarray:
    """``changes[t, h - 1] = levels[t + h] - levels[t]`` for ``h = 1 .. horizon``.

    The change from the last value, not the level, is what the notebook's networks forecast:
    changes stay in the range the training years saw when a trend does not, and a model that
    outputs 0 is the naive "last value" forecast. Rows whose future runs past the end of the
    series hold NaN there.
    """
    levels = np.asarray(levels, dtype="float32")
    if levels.ndim != 1 or horizon < 1:
        raise ValueError(
            f"Need a 1-D series and a horizon of at least 1, got shape {levels.shape} and "
            f"horizon {horizon}."
        )
    changes = np.full((len(levels), horizon), np.nan, dtype="float32")
    for h in range(1, horizon + 1):
        changes[:-h, h - 1] = levels[h:] - levels[:-h]
    return changes


def future(levels: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The values ``levels[t + h]`` for ``h = 1 .. horizon``: shape ``(origins, horizon)``."""
    return np.stack([levels[origins + h] for h in range(1, horizon + 1)], axis=1)


def seasonal_baselines(
    levels: np.ndarray, origins: np.ndarray, horizon: int, season: int
) -> dict[str, np.ndarray]:
    """The three forecasts that need no training, each of shape ``(origins, horizon)``.

    - naive (last value): ``x[t + h] ≈ x[t]``;
    - seasonal naive (the same step one season earlier): ``x[t + h] ≈ x[t + h - season]``;
    - seasonal change (the last value plus last season's change over the same steps):
      ``x[t + h] ≈ x[t] + x[t + h - season] - x[t - season]``.

    Only values up to the origin are used, so ``horizon`` must not exceed ``season``.
    """
    if horizon > season:
        raise ValueError(
            f"A horizon of {horizon} would read the future: the seasonal forecasts look back one"
            f" season ({season} steps), so the horizon can be at most {season}."
        )
    last_season = np.stack([levels[origins + h - season] for h in range(1, horizon + 1)], axis=1)
    return {
        "naive (last value)": np.repeat(levels[origins, None], horizon, axis=1),
        "seasonal naive": last_season,
        "seasonal change": levels[origins, None] + last_season - levels[origins - season, None],
    }


def mae_by_horizon(forecast: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Mean absolute error for horizons ``1 .. n``, from a forecast of shape ``(origins, n)``.

    ``truth`` may hold more horizons than the forecast (a one-step model is scored on the
    first column of the same truth).
    """
    if forecast.ndim != 2 or truth.shape[0] != forecast.shape[0]:
        raise ValueError(
            f"Expected forecast and truth of shape (origins, horizons) with the same origins, got "
            f"{forecast.shape} and {truth.shape}."
        )
    return np.abs(forecast - truth[:, : forecast.shape[1]]).mean(axis=0)


@dataclass(frozen=True)
class Windows:
    """Model inputs and targets by step, and the windows a model trains on.

    ``features[s]`` is what the model reads at step ``s`` (shape ``(steps, features)``) and
    ``targets[t]`` what it must output for origin ``t`` (shape ``(steps, horizon)``, already in
    the model's units). The sample for origin ``t`` is the ``window`` steps up to and including
    ``t``, paired with ``targets[t]``.
    """

    features: np.ndarray
    targets: np.ndarray
    window: int
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.features.ndim != 2 or self.targets.ndim != 2:
            raise ValueError(
                f"features must be (steps, features) and targets (steps, horizon); got "
                f"{self.features.shape} and {self.targets.shape}."
            )
        if len(self.features) != len(self.targets):
            raise ValueError(
                f"features and targets must have one row per step; got {len(self.features)} "
                f"and {len(self.targets)} rows."
            )
        if not 1 <= self.window < len(self.features):
            raise ValueError(
                f"window must be from 1 to {len(self.features) - 1} steps (one fewer than the"
                f" series), got {self.window}."
            )

    @property
    def horizon(self) -> int:
        """How many steps ahead the targets reach."""
        return self.targets.shape[1]

    def origins(self, start: int, stop: int) -> np.ndarray:
        """Origins whose whole window is in the series and whose targets (steps ``t + 1`` to
        ``t + horizon``) all lie in ``[start, stop)``, so that no target crosses a split."""
        return np.arange(max(start, self.window) - 1, stop - self.horizon)

    def dataset(
        self, start: int, stop: int, outputs: int | None = None, shuffle: bool = False
    ) -> tf.data.Dataset:
        """Batched ``(window, targets)`` for :meth:`origins` ``(start, stop)``, cached.

        ``outputs`` keeps the first horizons of the targets (1 for a one-step model); the
        origins are the same whatever it is, so one-step and multi-step models are scored on
        the same forecasts. A window may reach back before ``start``: that history is known at
        forecast time. ``shuffle`` shuffles the samples (with a fixed seed), never across
        splits.
        """
        origins = self.origins(start, stop)
        if len(origins) == 0:
            raise ValueError(
                f"No origin in [{start}, {stop}) has a full window of {self.window} steps and "
                f"{self.horizon} targets inside it: widen the range or shorten the window."
            )
        first, last = origins[0], origins[-1]
        return keras.utils.timeseries_dataset_from_array(
            self.features[first + 1 - self.window : last + 1],
            targets=self.targets[first : last + 1, : outputs or self.horizon],
            sequence_length=self.window,
            batch_size=self.batch_size,
            shuffle=shuffle,
            seed=0,
        ).cache()


def build_forecaster(
    kind: str, window: int, num_features: int, horizon: int, units: int = 32
) -> keras.Model:
    """A direct multi-step forecaster: ``horizon`` outputs at once from a window of inputs.

    ``"Dense"`` flattens the window and applies one hidden ReLU layer (every step at once, no
    notion of order); ``"GRU"`` and ``"LSTM"`` read the window step by step and forecast from
    the last state (Keras's defaults, so cuDNN-eligible). Compiled with Adam (1e-3, gradient
    norms clipped at 1) on the mean squared error.
    """
    inputs = keras.Input((window, num_features))
    if kind == "Dense":
        hidden = keras.layers.Dense(units, activation="relu")(keras.layers.Flatten()(inputs))
    elif kind == "GRU":
        hidden = keras.layers.GRU(units)(inputs)
    elif kind == "LSTM":
        hidden = keras.layers.LSTM(units)(inputs)
    else:
        raise ValueError(f"Unknown forecaster {kind!r}: choose one of {KINDS}.")
    model = keras.Model(inputs, keras.layers.Dense(horizon)(hidden), name=f"{kind}_{horizon}")
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0), loss="mse")
    return model


def train_forecaster(
    build: Callable[[], keras.Model],
    make_train: Callable[[], tf.data.Dataset],
    validation: tf.data.Dataset,
    *,
    epochs: int,
    patience: int,
    seed: int,
) -> tuple[keras.Model, keras.callbacks.History, float]:
    """Train one forecaster as notebook 09 does: seeded, early stopping on the validation loss.

    The seed is set first, then the training data and the model are made, so the same seed
    gives the same run whatever ran before. Early stopping keeps the best epoch's weights.

    Returns:
        The model (best validation weights), its history, and its seconds per epoch
        (:class:`~utils.training.EpochTimer`).
    """
    keras.utils.set_random_seed(seed)
    train = make_train()
    model = build()
    timer = EpochTimer()
    stop = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    history = model.fit(
        train, validation_data=validation, epochs=epochs, callbacks=[timer, stop], verbose=0
    )
    return model, history, timer.seconds_per_epoch
