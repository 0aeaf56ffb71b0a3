"""Decoding: temperature sampling and beam search against brute force on small random models."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from utils.decoding import Hypothesis, beam_search, sample, sequence_log_prob

# --------------------------------------------------------------------------------------------
# Small "models": step functions with known log-probabilities
# --------------------------------------------------------------------------------------------


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def second_order_markov(vocab_size: int, seed: int):
    """p(next | last, previous): the state holds the previous token, shape (batch,).

    The start token is ``vocab_size`` (one extra row), so it is never an output.
    """
    table = log_softmax(
        np.random.default_rng(seed).normal(0, 1.5, (vocab_size + 1,) * 2 + (vocab_size,))
    )

    def step_fn(tokens, state):
        return table[state, tokens], tokens.copy()

    return step_fn, np.array([vocab_size]), vocab_size


def random_lstm_like(vocab_size: int, seed: int, units: int = 3):
    """A random recurrent network whose state is the list [h, c], each (batch, units).

    Its next-token distribution depends on the whole history, not only on the last tokens.
    """
    rng = np.random.default_rng(seed)
    embed = rng.normal(0, 1, (vocab_size + 1, units))
    w_h, w_c, w_o = (rng.normal(0, 1, (units, n)) for n in (units, units, vocab_size))

    def step_fn(tokens, state):
        h, c = state
        c = np.tanh(c @ w_c + embed[tokens])
        h = np.tanh(h @ w_h + c)
        return log_softmax(2 * h @ w_o), [h, c]

    return step_fn, [np.zeros((1, units)), np.zeros((1, units))], vocab_size


MODELS = {"markov": second_order_markov, "lstm_like": random_lstm_like}


def brute_force(step_fn, state, start, vocab_size, max_length, end_token, alpha):
    """Every possible output, scored one sequence at a time, best first."""
    outcomes = []
    for length in range(1, max_length + 1):
        for tokens in itertools.product(range(vocab_size), repeat=length):
            if end_token in tokens[:-1]:
                continue  # nothing follows an end token
            if length < max_length and tokens[-1] != end_token:
                continue  # a shorter output must have finished
            log_prob = sequence_log_prob(step_fn, state, start, tokens)
            outcomes.append(Hypothesis(tokens, log_prob, log_prob / length**alpha))
    return sorted(outcomes, key=lambda h: -h.score)


def assert_same_hypotheses(found, expected):
    assert [h.tokens for h in found] == [h.tokens for h in expected]
    np.testing.assert_allclose([h.log_prob for h in found], [h.log_prob for h in expected])
    np.testing.assert_allclose([h.score for h in found], [h.score for h in expected])


def greedy(step_fn, state, start, max_length, end_token):
    tokens, log_prob, last = [], 0.0, start
    for _ in range(max_length):
        log_probs, state = step_fn(np.array([last]), state)
        last = int(log_probs[0].argmax())
        tokens.append(last)
        log_prob += log_probs[0, last]
        if last == end_token:
            break
    return tuple(tokens), log_prob


# --------------------------------------------------------------------------------------------
# beam_search: exactness, greedy, end tokens, length penalty
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("end_token", [None, 0])
@pytest.mark.parametrize("alpha", [0.0, 0.7, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_beam_that_never_prunes_finds_the_brute_force_top_sequences(
    model, end_token, alpha, seed
):
    step_fn, state, vocab_size = MODELS[model](4, seed)
    max_length = 4
    width = vocab_size ** (max_length - 1)  # never more live hypotheses than this
    found = beam_search(step_fn, state, vocab_size, width, max_length, end_token, alpha)
    expected = brute_force(step_fn, state, vocab_size, vocab_size, max_length, end_token, alpha)

    assert len(found) == width
    assert_same_hypotheses(found, expected[:width])


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("end_token", [None, 2])
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_a_beam_as_wide_as_the_vocabulary_is_exact_for_two_tokens(model, end_token, seed):
    step_fn, state, vocab_size = MODELS[model](5, seed)
    found = beam_search(step_fn, state, vocab_size, vocab_size, 2, end_token, 0.5)
    expected = brute_force(step_fn, state, vocab_size, vocab_size, 2, end_token, 0.5)

    assert_same_hypotheses(found, expected[:vocab_size])


def prefix_table_model(table: dict[tuple[int, ...], list[float]], start: int, max_length: int):
    """A model given by p(next | whole prefix); the state is the prefix, -1 padded, (batch, L)."""

    def step_fn(tokens, state):
        state = state.copy()
        for row, token in enumerate(tokens):
            if token != start:
                state[row, (state[row] >= 0).sum()] = token
        keys = [tuple(int(t) for t in row if t >= 0) for row in state]
        return np.log([table[key] for key in keys]), state

    return step_fn, np.full((1, max_length), -1)


def test_a_narrow_beam_can_miss_the_best_sequence():
    """Width = vocabulary is not exhaustive from length 3 on: (1, 0, 0) has the best total,
    but its prefix (1, 0) was only third best after two steps and fell out of the beam."""
    flat, peaked = [0.5, 0.5], [0.99, 0.01]
    table = {(): [0.6, 0.4], (0,): flat, (1,): flat, (0, 0): flat, (0, 1): flat}
    table |= {(1, 0): peaked, (1, 1): flat}
    step_fn, state = prefix_table_model(table, start=2, max_length=3)

    found = beam_search(step_fn, state, 2, beam_width=2, max_length=3)
    best = brute_force(step_fn, state, 2, 2, 3, None, 0.0)[0]

    assert best.tokens == (1, 0, 0)
    np.testing.assert_allclose(best.log_prob, np.log(0.4 * 0.5 * 0.99))
    assert best.tokens not in [h.tokens for h in found]
    assert found[0].log_prob < best.log_prob
    wider = beam_search(step_fn, state, 2, beam_width=4, max_length=3)
    assert wider[0].tokens == best.tokens


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("end_token", [None, 1])
@pytest.mark.parametrize("alpha", [0.0, 0.6])
@pytest.mark.parametrize("seed", range(4))
def test_beam_width_one_is_greedy_decoding(model, end_token, alpha, seed):
    step_fn, state, vocab_size = MODELS[model](6, seed)
    (found,) = beam_search(step_fn, state, vocab_size, 1, 12, end_token, alpha)
    tokens, log_prob = greedy(step_fn, state, vocab_size, 12, end_token)

    assert found.tokens == tokens
    np.testing.assert_allclose(found.log_prob, log_prob)


@pytest.mark.parametrize("model", MODELS)
def test_hypotheses_are_sorted_and_scored_as_documented(model):
    step_fn, state, vocab_size = MODELS[model](7, 11)
    found = beam_search(step_fn, state, vocab_size, 5, 9, end_token=3, length_penalty=0.8)

    assert len(found) == 5
    assert [h.score for h in found] == sorted((h.score for h in found), reverse=True)
    for h in found:
        np.testing.assert_allclose(
            h.log_prob, sequence_log_prob(step_fn, state, vocab_size, h.tokens)
        )
        np.testing.assert_allclose(h.score, h.log_prob / len(h.tokens) ** 0.8)


def test_finished_hypotheses_stop_growing_and_unfinished_have_max_length():
    step_fn, state, vocab_size = second_order_markov(5, seed=2)
    found = beam_search(step_fn, state, vocab_size, 20, 6, end_token=0)

    assert any(h.tokens[-1] == 0 for h in found) and any(h.tokens[-1] != 0 for h in found)
    for h in found:
        assert 0 not in h.tokens[:-1], "nothing may follow the end token"
        assert h.tokens[-1] == 0 or len(h.tokens) == 6


def test_search_stops_when_every_hypothesis_has_finished():
    """Each token is followed by the end token 0 with certainty: two steps, then no more calls."""
    calls = []

    def step_fn(tokens, state):
        calls.append(len(tokens))
        log_probs = np.where(tokens[:, None] == 9, np.log(1 / 3), -np.inf) * np.ones((1, 3))
        log_probs[tokens != 9, 0] = 0.0  # after the first token, the end token is certain
        return log_probs, state

    found = beam_search(step_fn, None, 9, beam_width=3, max_length=50, end_token=0)

    assert calls == [1, 2], "finished hypotheses must not be fed to step_fn"
    assert [h.tokens for h in found] == [(0,), (1, 0), (2, 0)]
    np.testing.assert_allclose([h.log_prob for h in found], np.log(1 / 3))


def test_length_penalty_trades_an_early_end_for_a_longer_likely_sequence():
    """End now with p = 0.4, or continue with 1s that each have p = 0.9 (end token 0)."""
    table = {(): [0.4, 0.6]} | {(1,) * n: [0.1, 0.9] for n in range(1, 7)}
    step_fn, state = prefix_table_model(table, start=2, max_length=6)

    plain = beam_search(step_fn, state, 2, 3, 6, end_token=0, length_penalty=0.0)
    per_token = beam_search(step_fn, state, 2, 3, 6, end_token=0, length_penalty=1.0)

    assert plain[0].tokens == (0,)  # the shortest output wins on total log-probability
    assert per_token[0].tokens == (1,) * 6  # the best mean log-probability per token
    np.testing.assert_allclose(per_token[0].score, (np.log(0.6) + 5 * np.log(0.9)) / 6)
    assert_same_hypotheses(per_token, brute_force(step_fn, state, 2, 2, 6, 0, 1.0)[:3])


def test_tuple_states_keep_their_structure_and_follow_their_hypotheses():
    """The state (tokens so far, count) must be reordered with its hypothesis: step_fn checks it."""
    base, _, vocab_size = second_order_markov(4, seed=5)

    def step_fn(tokens, state):
        assert isinstance(state, tuple) and len(state) == 2
        history, count = state  # every token fed so far, and how many
        assert (count == history.shape[1] - 1).all()
        log_probs, _ = base(tokens, history[:, -1])
        return log_probs, (np.concatenate([history, tokens[:, None]], axis=1), count + 1)

    start = np.array([[vocab_size]])
    found = beam_search(step_fn, (start, np.zeros(1)), vocab_size, 64, 4)
    expected = brute_force(base, np.array([vocab_size]), vocab_size, vocab_size, 4, None, 0.0)

    assert_same_hypotheses(found, expected[:64])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beam_width": 0}, "beam_width must be a positive integer, got 0"),
        ({"beam_width": 2.0}, "beam_width must be a positive integer, got 2.0"),
        ({"beam_width": True}, "beam_width must be a positive integer, got True"),
        ({"max_length": 0}, "max_length must be a positive integer, got 0"),
        ({"length_penalty": -0.5}, "length_penalty must be a finite number >= 0"),
        ({"length_penalty": float("nan")}, "length_penalty must be a finite number >= 0"),
        ({"end_token": 4}, r"end_token must be in \[0, 4\), got 4"),
        (
            {"initial_state": np.array([4, 4])},
            "initial_state .* with 1 rows, got .* shape \\(2,\\)",
        ),
        ({"initial_state": np.array(4)}, "initial_state .* got an array of shape \\(\\)"),
    ],
)
def test_beam_search_rejects_bad_arguments(kwargs, message):
    step_fn, state, vocab_size = second_order_markov(4, seed=0)
    arguments = {
        "initial_state": state,
        "start_token": vocab_size,
        "beam_width": 3,
        "max_length": 3,
    }
    with pytest.raises(ValueError, match=message):
        beam_search(step_fn, **(arguments | kwargs))


@pytest.mark.parametrize(
    "bad_step, message",
    [
        (
            lambda lp, s: (lp[0], s),
            r"shape \(batch, vocab_size\) with batch = 1 .* got shape \(4,\)",
        ),
        (lambda lp, s: (np.repeat(lp, 2, axis=0), s), r"batch = 1 .* got shape \(2, 4\)"),
        (lambda lp, s: (lp + 1.0, s), "apply a log-softmax to the logits"),
        (lambda lp, s: (np.exp(lp), s), "apply a log-softmax to the logits"),
        (lambda lp, s: (lp, np.repeat(s, 3)), "the state step_fn returns must .* 1 rows"),
    ],
)
def test_beam_search_rejects_a_step_fn_that_breaks_the_contract(bad_step, message):
    step_fn, state, vocab_size = second_order_markov(4, seed=0)

    def broken(tokens, s):
        return bad_step(*step_fn(tokens, s))

    with pytest.raises(ValueError, match=message):
        beam_search(broken, state, vocab_size, beam_width=3, max_length=3)


def test_beam_search_rejects_a_vocabulary_that_changes_size():
    def step_fn(tokens, state):
        size = 3 if (state == 0).all() else 4
        return np.full((len(tokens), size), -np.log(size)), state + 1

    with pytest.raises(ValueError, match="returned 4 log-probabilities per row after 3"):
        beam_search(step_fn, np.zeros(1), 0, beam_width=2, max_length=3)


def test_sequence_log_prob_rejects_an_empty_sequence():
    step_fn, state, vocab_size = second_order_markov(4, seed=0)
    with pytest.raises(ValueError, match="at least one token"):
        sequence_log_prob(step_fn, state, vocab_size, [])


# --------------------------------------------------------------------------------------------
# sample
# --------------------------------------------------------------------------------------------

P = np.array([0.5, 0.3, 0.15, 0.05, 0.0])


def frequencies(temperature: float, n: int = 40_000, seed: int = 0) -> np.ndarray:
    draws = sample(np.tile(P, (n, 1)), temperature, np.random.default_rng(seed))
    return np.bincount(draws, minlength=len(P)) / n


def test_sampling_at_temperature_one_follows_the_distribution():
    np.testing.assert_allclose(frequencies(1.0), P, atol=0.01)  # 4 standard errors at most


def test_temperature_reshapes_the_distribution_as_p_to_the_one_over_t():
    for temperature in (0.5, 2.0):
        expected = P ** (1 / temperature)
        np.testing.assert_allclose(frequencies(temperature), expected / expected.sum(), atol=0.01)


def test_a_high_temperature_approaches_uniform_over_the_possible_tokens():
    np.testing.assert_allclose(frequencies(1000.0)[:4], 0.25, atol=0.01)


def test_an_impossible_token_is_never_drawn():
    assert frequencies(5.0)[-1] == 0.0


@pytest.mark.parametrize("temperature", [1e-3, 1e-8])
def test_temperature_near_zero_is_greedy(temperature):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert frequencies(temperature, n=2000)[0] == 1.0


def test_temperature_zero_is_argmax_and_draws_no_random_numbers():
    rng, fresh = np.random.default_rng(3), np.random.default_rng(3)
    probabilities = np.array([[0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0]])

    np.testing.assert_array_equal(sample(probabilities, 0, rng), [1, 2, 0])
    assert rng.random() == fresh.random()


def test_sample_keeps_the_batch_shape_and_returns_an_int_for_one_distribution():
    one_hot = np.eye(6)[np.arange(24).reshape(2, 3, 4) % 6]
    draws = sample(one_hot, 1.0, np.random.default_rng(0))

    assert draws.shape == (2, 3, 4) and draws.dtype == np.int64
    np.testing.assert_array_equal(draws, np.arange(24).reshape(2, 3, 4) % 6)
    single = sample(np.eye(6)[4], 0.7, np.random.default_rng(0))
    assert single == 4 and isinstance(single, int)


def test_sample_accepts_float32_softmax_outputs():
    logits = np.random.default_rng(1).normal(0, 3, (100, 65)).astype(np.float32)
    probabilities = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32)
    draws = sample(probabilities, 0.8, np.random.default_rng(0))
    assert ((draws >= 0) & (draws < 65)).all()


@pytest.mark.parametrize(
    "probabilities, temperature, message",
    [
        (P, -0.1, r"temperature must be a finite number >= 0 \(0 means greedy\), got -0.1"),
        (P, float("nan"), "temperature must be a finite number >= 0"),
        (P, float("inf"), "temperature must be a finite number >= 0"),
        (np.array([2.0, -1.0]), 1.0, "must be non-negative and sum to 1"),
        (np.array([0.5, 0.6]), 1.0, "sums between 1.1 and 1.1"),
        (np.array([1.2, -0.3, 2.5]), 1.0, "apply a softmax to logits first"),
        (np.array([0.5, np.nan]), 1.0, "must be non-negative and sum to 1"),
        (np.array(1.0), 1.0, r"shape \(..., vocab_size\), got \(\)"),
        (np.zeros((3, 0)), 1.0, r"shape \(..., vocab_size\), got \(3, 0\)"),
    ],
)
def test_sample_rejects_bad_arguments(probabilities, temperature, message):
    with pytest.raises(ValueError, match=message):
        sample(probabilities, temperature, np.random.default_rng(0))
