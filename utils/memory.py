"""The long-memory benchmark of notebooks 03-05: how far back can a recurrent layer remember?

A recurrent layer is trained on :func:`utils.tasks.adding_problem` at one sequence length, with
one seed, under one fixed budget, and judged on a separate test set. :func:`climb` repeats that
at growing lengths until the layer fails, so every notebook measures memory the same way:

- training, validation and test sequences are drawn from three different seeds, the same for
  every layer, so the layers compared see the same data;
- training stops early only when the *validation* MSE is below half the solved threshold
  (:data:`STOP_FRACTION`), and the weights of the best validation epoch are kept; the test set is
  used once, for the reported MSE;
- a length is **solved** when the test MSE is below :data:`SOLVED_FRACTION` of the trivial
  predictor's (always answering 1.0, MSE 1/6).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from utils.tasks import ADDING_TRIVIAL_MSE, adding_problem
from utils.training import EpochTimer

SOLVED_FRACTION = 0.1
"""A length counts as solved when the test MSE is below this fraction of the trivial MSE."""

STOP_FRACTION = SOLVED_FRACTION / 2
"""Training stops early once the validation MSE is below this fraction of the trivial MSE.

Half the solved threshold, so that a run is not stopped just below the threshold on the
validation set, where the test set (another sample) would land on either side of it by chance.
"""


@dataclass(frozen=True)
class Budget:
    """What every training run gets: the same data sizes, epochs, batch and optimiser."""

    num_train: int = 10_000
    num_validation: int = 1_000
    num_test: int = 2_000
    max_epochs: int = 30
    batch_size: int = 100
    learning_rate: float = 3e-3
    clipnorm: float | None = 1.0  # each gradient tensor's norm is cut to this; None: no clipping


@dataclass(frozen=True)
class MemoryRun:
    """One training run: a layer, a sequence length, a seed, and what it achieved."""

    length: int
    seed: int
    test_mse: float
    epochs: int
    seconds_per_epoch: float
    params: int

    @property
    def relative_mse(self) -> float:
        """Test MSE as a fraction of the trivial predictor's: 1 learned nothing, 0 is perfect."""
        return self.test_mse / ADDING_TRIVIAL_MSE

    @property
    def solved(self) -> bool:
        """Whether the test MSE is below :data:`SOLVED_FRACTION` of the trivial MSE."""
        return self.relative_mse < SOLVED_FRACTION


def adding_data(
    length: int, seed: int, budget: Budget
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Training, validation and test sets of the adding problem, from three derived seeds.

    The seeds depend on ``seed`` only, never on the layer, so every layer trained with one seed
    sees the same sequences.
    """
    return (
        adding_problem(budget.num_train, length, seed=3 * seed),
        adding_problem(budget.num_validation, length, seed=3 * seed + 1),
        adding_problem(budget.num_test, length, seed=3 * seed + 2),
    )


def adding_model(layer: keras.layers.Layer, length: int) -> keras.Model:
    """``Input(length, 2) → layer → Dense(1)``: the layer's last state is read by a regression."""
    inputs = keras.Input((length, 2))
    return keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))


class StopWhenSolved(keras.callbacks.Callback):
    """Ends training once the validation MSE is below :data:`STOP_FRACTION` of the trivial MSE:
    the task is then solved with a margin, and the budget is better spent on the next length."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (logs or {}).get("val_loss", np.inf) < STOP_FRACTION * ADDING_TRIVIAL_MSE:
            self.model.stop_training = True


def train_on_adding(
    make_layer: Callable[[], keras.layers.Layer],
    length: int,
    seed: int,
    budget: Budget = Budget(),
    adjust: Callable[[keras.layers.Layer, int], None] | None = None,
) -> tuple[MemoryRun, keras.Model]:
    """Train one fresh layer on the adding problem of ``length`` steps and test it once.

    Args:
        make_layer: builds a fresh recurrent layer (returning only its last state).
        length: the sequence length ``T``.
        seed: seeds the data (see :func:`adding_data`) and the weights.
        budget: data sizes, epochs, batch and optimiser.
        adjust: called as ``adjust(layer, length)`` after the model is built and before
            training, e.g. to set an initialisation that depends on ``length``.

    Returns:
        The run's :class:`MemoryRun` and the trained model (weights of the best validation
        epoch).
    """
    train, validation, test = adding_data(length, seed, budget)
    keras.utils.set_random_seed(seed)
    layer = make_layer()
    model = adding_model(layer, length)
    if adjust is not None:
        adjust(layer, length)
    model.compile(
        optimizer=keras.optimizers.Adam(budget.learning_rate, clipnorm=budget.clipnorm),
        loss="mse",
    )
    timer = EpochTimer()
    keep_best = keras.callbacks.EarlyStopping(
        "val_loss", patience=budget.max_epochs, restore_best_weights=True
    )
    history = model.fit(
        *train,
        validation_data=validation,
        epochs=budget.max_epochs,
        batch_size=budget.batch_size,
        callbacks=[timer, keep_best, StopWhenSolved()],
        verbose=0,
    )
    test_mse = float(model.evaluate(*test, batch_size=500, verbose=0))
    run = MemoryRun(
        length=length,
        seed=seed,
        test_mse=test_mse,
        epochs=len(history.history["loss"]),
        seconds_per_epoch=timer.seconds_per_epoch,
        params=layer.count_params(),
    )
    return run, model


def climb(
    make_layer: Callable[[], keras.layers.Layer],
    lengths: Sequence[int],
    seed: int,
    budget: Budget = Budget(),
    adjust: Callable[[keras.layers.Layer, int], None] | None = None,
    report: Callable[[MemoryRun], None] | None = None,
) -> list[MemoryRun]:
    """Train at each of ``lengths`` (increasing) until a length is not solved, then stop.

    A layer that fails at ``T`` is not tried at ``2T``: the longest length solved is what we
    measure, and a failed run is the most expensive kind (it uses the whole budget).

    Returns:
        The runs in order; only the last one can be unsolved.
    """
    if list(lengths) != sorted(set(lengths)):
        raise ValueError(f"lengths must be increasing and distinct, got {list(lengths)}.")
    runs = []
    for length in lengths:
        run, _ = train_on_adding(make_layer, length, seed, budget, adjust)
        runs.append(run)
        if report is not None:
            report(run)
        if not run.solved:
            break
    return runs


def longest_solved(runs: Sequence[MemoryRun]) -> int:
    """The longest length solved in one :func:`climb` (0 when even the first failed)."""
    return max((run.length for run in runs if run.solved), default=0)


def median_longest_solved(climbs: Sequence[Sequence[MemoryRun]]) -> float:
    """Median over seeds of :func:`longest_solved`: one number per layer for the table."""
    if not climbs:
        raise ValueError("Pass the climbs of at least one seed.")
    return statistics.median(longest_solved(runs) for runs in climbs)


def chrono_initialisation(layer: keras.layers.LSTM, length: int, seed: int = 0) -> None:
    """Chrono initialisation (Tallec & Ollivier, 2018) of a built ``keras.layers.LSTM``.

    Forget-gate biases ``log(u)`` with ``u ~ U(1, length - 1)`` and input-gate biases their
    negatives, so that fresh units keep their memory for between 1 and about ``length`` steps
    instead of the few steps Keras's start (forget bias 1, ``σ(1) ≈ 0.73``) gives them. Use it
    as ``adjust`` in :func:`train_on_adding`. Notebook 05 derives it.
    """
    units = layer.cell.units
    keep_bias = np.log(np.random.default_rng(seed).uniform(1, max(length - 1, 1), units))
    bias = np.zeros(layer.cell.bias.shape, dtype="float32")
    bias[:units], bias[units : 2 * units] = -keep_bias, keep_bias  # Keras's blocks i, f, c, o
    layer.cell.bias.assign(bias)


def state_gradient_norms(
    layer: keras.layers.Layer, x: np.ndarray | tf.Tensor, direction: np.ndarray
) -> np.ndarray:
    """How much of a gradient at the last hidden state reaches each earlier state.

    Runs ``layer``'s own Keras cell step by step over ``x`` from zero states, so that every
    state ``s_k`` is a tensor to differentiate with respect to (for an LSTM ``s_k = (h_k, C_k)``,
    for a SimpleRNN or a GRU ``s_k = h_k``), and returns

        g_k = || d(u . h_T) / d s_k ||,

    averaged over the batch, for the distances ``T - k = 1, ..., T`` in that order. One backward
    pass gives every ``g_k``; notebook 04 plots them before and after training.

    Args:
        layer: a built recurrent layer with a ``cell`` (``SimpleRNN``, ``LSTM``, ``GRU``, ``RNN``).
        x: inputs of shape ``(batch, T, features)``.
        direction: the fixed direction ``u``, shape ``(units, 1)``, along which the gradient is
            sent into ``h_T``.
    """
    x = tf.convert_to_tensor(x)
    sizes = layer.cell.state_size
    sizes = list(sizes) if isinstance(sizes, list | tuple) else [sizes]
    if direction.shape != (sizes[0], 1):
        raise ValueError(
            f"direction must have shape (units, 1) = ({sizes[0]}, 1), got {direction.shape}."
        )
    states = [tf.zeros((x.shape[0], size)) for size in sizes]
    visited = []
    with tf.GradientTape() as tape:
        for t in range(x.shape[1]):
            tape.watch(states)
            visited.append(states)
            h, states = layer.cell(x[:, t], states)
            states = list(states) if isinstance(states, list | tuple) else [states]
        readout = tf.reduce_sum(h @ direction)
    per_step = tape.gradient(readout, visited)
    norms = [
        np.sqrt(sum(np.sum(g.numpy() ** 2, axis=1) for g in grads)).mean() for grads in per_step
    ]
    return np.array(norms[::-1])  # visited[k] is T - k steps back
