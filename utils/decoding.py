"""Turning a next-token model into text: temperature sampling and beam search.

Both work on plain NumPy arrays and know nothing about Keras, so the same code decodes a
character language model, an encoder-decoder translator or, in the tests, a fixed Markov chain.
A model takes part through a *step function*::

    log_probs, new_state = step_fn(tokens, state)

``tokens`` holds the last token of each hypothesis in a batch, shape ``(batch,)``; ``state`` is
the matching recurrent state, a NumPy array or a list/tuple of arrays whose first axis is the
batch (an LSTM's ``[h, c]``); ``log_probs`` has shape ``(batch, vocab_size)`` and holds
log-probabilities (a log-softmax, not raw logits). This module depends on NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

State = Any
"""A recurrent state: ``None``, a NumPy array, or a list/tuple of arrays, batch first."""

StepFn = Callable[[np.ndarray, State], tuple[np.ndarray, State]]

_SUM_TOLERANCE = 1e-3  # float32 softmax outputs sum to 1 within ~1e-6; logits are far off


# --------------------------------------------------------------------------------------------
# Temperature sampling
# --------------------------------------------------------------------------------------------


def sample(
    probabilities: np.ndarray, temperature: float, rng: np.random.Generator
) -> int | np.ndarray:
    """Draw token ids from next-token distributions reshaped by a temperature.

    The distribution is sharpened or flattened as ``p_i^(1/T) / sum_j p_j^(1/T)``, which is
    ``softmax(logits / T)`` for the logits the probabilities came from. ``T = 1`` samples from
    the model as it is, ``T > 1`` flattens it (more surprising, more mistakes) and ``T < 1``
    sharpens it. As ``T -> 0`` all the mass moves to the most likely token, so
    ``temperature=0`` is accepted and means greedy decoding: the argmax (the first one on a
    tie), without using ``rng``.

    Args:
        probabilities: one distribution of shape ``(vocab_size,)`` or a batch of them,
            ``(..., vocab_size)``; each must be non-negative and sum to 1 (within 1e-3).
        temperature: ``T >= 0``.
        rng: the NumPy random generator to draw from (``np.random.default_rng(seed)``).

    Returns:
        A Python ``int`` for one distribution, else an ``int64`` array of shape ``(...)``.

    Raises:
        ValueError: for a negative or non-finite temperature, or probabilities that do not
            form distributions (for example logits passed by mistake).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(
            f"temperature must be a finite number >= 0 (0 means greedy), got {temperature}."
        )
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"probabilities must have shape (..., vocab_size), got {p.shape}.")
    sums = p.sum(axis=-1)
    if not np.isfinite(p).all() or (p < 0).any() or np.abs(sums - 1).max() > _SUM_TOLERANCE:
        raise ValueError(
            "probabilities must be non-negative and sum to 1 along the last axis (got sums "
            f"between {sums.min():.4g} and {sums.max():.4g}): apply a softmax to logits first."
        )
    if temperature == 0:
        choice = p.argmax(axis=-1)
    else:
        with np.errstate(divide="ignore"):
            log_p = np.log(p)
        # Subtract the maximum before dividing, so that a tiny T gives 0 and -inf, never NaN.
        weights = np.exp((log_p - log_p.max(axis=-1, keepdims=True)) / temperature)
        cdf = np.cumsum(weights, axis=-1)
        u = rng.random((*p.shape[:-1], 1)) * cdf[..., -1:]
        choice = (cdf <= u).sum(axis=-1)  # the first token whose cumulative mass exceeds u
        # Guard against u rounding up to the total: fall back to the last possible token.
        last_possible = p.shape[-1] - 1 - (weights[..., ::-1] > 0).argmax(axis=-1)
        choice = np.minimum(choice, last_possible)
    return int(choice) if choice.ndim == 0 else choice.astype(np.int64)


# --------------------------------------------------------------------------------------------
# Beam search
# --------------------------------------------------------------------------------------------


class Hypothesis(NamedTuple):
    """One decoded sequence.

    Attributes:
        tokens: the generated token ids, without the start token; ends with the end token if
            the hypothesis finished, otherwise it has ``max_length`` tokens.
        log_prob: total log-probability, ``sum_t log p(y_t | y_<t, start, state)``.
        score: what the search ranks by, ``log_prob / len(tokens) ** length_penalty``.
    """

    tokens: tuple[int, ...]
    log_prob: float
    score: float


def _state_arrays(state: State) -> list[np.ndarray]:
    if state is None:
        return []
    if isinstance(state, list | tuple):
        return [np.asarray(part) for part in state]
    return [np.asarray(state)]


def _check_batch(state: State, batch: int, what: str) -> None:
    for part in _state_arrays(state):
        if part.ndim == 0 or part.shape[0] != batch:
            raise ValueError(
                f"{what} must have the batch on its first axis with {batch} rows, got an array "
                f"of shape {part.shape}."
            )


def _take_rows(state: State, rows: np.ndarray) -> State:
    """The state of the selected hypotheses, in the same structure (None, array, list, tuple)."""
    if state is None:
        return None
    if isinstance(state, list | tuple):
        return type(state)(np.asarray(part)[rows] for part in state)
    return np.asarray(state)[rows]


def _check_log_probs(log_probs: np.ndarray, batch: int, vocab_size: int | None) -> None:
    if log_probs.ndim != 2 or log_probs.shape[0] != batch:
        raise ValueError(
            f"step_fn must return log-probabilities of shape (batch, vocab_size) with batch = "
            f"{batch} (one row per token passed in), got shape {log_probs.shape}."
        )
    if vocab_size is not None and log_probs.shape[1] != vocab_size:
        raise ValueError(
            f"step_fn returned {log_probs.shape[1]} log-probabilities per row after "
            f"{vocab_size} at the first step: the vocabulary size must not change."
        )
    with np.errstate(over="ignore"):
        row_max = log_probs.max(axis=1, keepdims=True)
        totals = np.log(np.exp(log_probs - row_max).sum(axis=1)) + row_max[:, 0]
    if not np.all(np.abs(totals) <= _SUM_TOLERANCE):
        raise ValueError(
            "step_fn must return log-probabilities (each row's probabilities summing to 1), got "
            f"rows whose exp sums to exp({totals.min():.4g})..exp({totals.max():.4g}): apply a "
            "log-softmax to the logits."
        )


def _positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def beam_search(
    step_fn: StepFn,
    initial_state: State,
    start_token: int,
    beam_width: int,
    max_length: int,
    end_token: int | None = None,
    length_penalty: float = 0.0,
) -> list[Hypothesis]:
    """Find likely output sequences by keeping the ``beam_width`` best partial ones per step.

    Greedy decoding commits to the single most likely token at every step; an early choice
    that looked good can lead to a poor sequence. Beam search keeps ``beam_width`` hypotheses
    alive instead: at each step every live hypothesis is extended by every token, and the
    ``beam_width`` best of these candidates (together with the hypotheses that have already
    finished) form the next beam. With ``beam_width=1`` it is exactly greedy decoding; with a
    beam that never has to drop a candidate (``beam_width >= vocab_size ** (max_length - 1)``)
    it is an exhaustive search. In between it is a heuristic: a sequence whose prefix fell out
    of the beam is never found, even if it would have been the best.

    A hypothesis finishes when it emits ``end_token``: it stops growing and is carried into
    later beams unchanged, competing with the live hypotheses for a place. The search stops
    when every hypothesis in the beam has finished, or after ``max_length`` tokens.

    Ranking: log-probabilities never increase as a sequence grows, so raw scores favour short
    (early-finishing) outputs. ``length_penalty = alpha`` ranks by
    ``log_prob / length ** alpha`` instead (the idea of Wu et al., 2016, "Google's Neural
    Machine Translation System", without their constant 5): ``alpha = 0`` is the plain total
    log-probability, ``alpha = 1`` the mean per token. ``length`` counts the generated tokens,
    the end token included and the start token not.

    Args:
        step_fn: ``(tokens (batch,), state) -> (log_probs (batch, vocab_size), new_state)``,
            see the module docstring. It is called with the live hypotheses only.
        initial_state: the state before the first step, for a batch of one: ``None``, an array
            of shape ``(1, ...)`` or a list/tuple of such arrays.
        start_token: the token fed at the first step (for a language model, the last token of
            the prompt; for a decoder, its start symbol).
        beam_width: how many hypotheses to keep, ``>= 1``.
        max_length: the most tokens to generate, ``>= 1``.
        end_token: the token that finishes a hypothesis, or ``None`` to always generate
            ``max_length`` tokens.
        length_penalty: ``alpha >= 0``.

    Returns:
        Up to ``beam_width`` hypotheses, best score first (fewer only when fewer sequences
        exist).

    Raises:
        ValueError: for a non-positive ``beam_width`` or ``max_length``, a negative
            ``length_penalty``, a state without a batch axis of 1, an ``end_token`` outside the
            vocabulary, or a ``step_fn`` that returns the wrong shapes or raw logits.
    """
    beam_width = _positive_int(beam_width, "beam_width")
    max_length = _positive_int(max_length, "max_length")
    if not np.isfinite(length_penalty) or length_penalty < 0:
        raise ValueError(f"length_penalty must be a finite number >= 0, got {length_penalty}.")
    _check_batch(initial_state, 1, "initial_state (a batch of one hypothesis)")

    # The beam: finished hypotheses (kept as they are) and live ones (with their state).
    finished: list[Hypothesis] = []
    live_tokens: list[tuple[int, ...]] = [()]
    live_log_probs = np.zeros(1)
    last_tokens = np.array([start_token], dtype=np.int64)
    state = initial_state
    vocab_size: int | None = None

    for length in range(1, max_length + 1):
        log_probs, new_state = step_fn(last_tokens, state)
        log_probs = np.asarray(log_probs, dtype=np.float64)
        _check_log_probs(log_probs, len(last_tokens), vocab_size)
        _check_batch(new_state, len(last_tokens), "the state step_fn returns")
        if vocab_size is None:
            vocab_size = log_probs.shape[1]
            if end_token is not None and not 0 <= end_token < vocab_size:
                raise ValueError(f"end_token must be in [0, {vocab_size}), got {end_token}.")

        # Candidates: the finished hypotheses first, then every live one extended by every token.
        extended = (live_log_probs[:, None] + log_probs).ravel()
        extended_scores = extended / length**length_penalty
        scores = np.concatenate([[h.score for h in finished], extended_scores])
        keep = np.argsort(-scores, kind="stable")[:beam_width]

        next_finished = [finished[i] for i in keep if i < len(finished)]
        parents, next_tokens, next_live = [], [], []
        for i in keep[keep >= len(finished)] - len(finished):
            parent, token = divmod(int(i), vocab_size)
            tokens = (*live_tokens[parent], token)
            if token == end_token:
                next_finished.append(
                    Hypothesis(tokens, float(extended[i]), float(extended_scores[i]))
                )
            else:
                parents.append(parent)
                next_tokens.append(token)
                next_live.append((tokens, float(extended[i])))

        finished = next_finished
        live_tokens = [tokens for tokens, _ in next_live]
        live_log_probs = np.array([log_prob for _, log_prob in next_live])
        last_tokens = np.array(next_tokens, dtype=np.int64)
        state = _take_rows(new_state, np.array(parents, dtype=np.int64))
        if not live_tokens:
            break

    unfinished = [
        Hypothesis(tokens, log_prob, log_prob / len(tokens) ** length_penalty)
        for tokens, log_prob in zip(live_tokens, live_log_probs.tolist(), strict=True)
    ]
    return sorted(finished + unfinished, key=lambda h: -h.score)


def sequence_log_prob(
    step_fn: StepFn, initial_state: State, start_token: int, tokens: Sequence[int]
) -> float:
    """``log p(tokens | start, state) = sum_t log p(y_t | y_<t)``: the score beam search uses.

    Feeds ``tokens`` through ``step_fn`` one at a time (teacher forcing), so any sequence, not
    only one that a search found, can be scored by the same rule.
    """
    if len(tokens) == 0:
        raise ValueError("tokens must hold at least one token to score.")
    _check_batch(initial_state, 1, "initial_state (a batch of one sequence)")
    total, state, previous = 0.0, initial_state, start_token
    for token in tokens:
        log_probs, state = step_fn(np.array([previous], dtype=np.int64), state)
        log_probs = np.asarray(log_probs, dtype=np.float64)
        _check_log_probs(log_probs, 1, None)
        total += float(log_probs[0, token])
        previous = token
    return total
