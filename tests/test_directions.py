"""Tests for utils.directions: what each bracket model's answers have read."""

import keras
import numpy as np
import pytest

from utils.directions import bracket_model


def test_default_sizes_give_about_the_same_parameters():
    counts = {d: bracket_model(d).count_params() for d in ("forward", "backward", "bidirectional")}
    assert counts == {"forward": 11_025, "backward": 11_025, "bidirectional": 10_593}
    assert bracket_model("forward", units=96).count_params() > 2 * counts["forward"]


def test_the_backward_model_is_the_forward_one_on_the_flipped_sequence():
    keras.utils.set_random_seed(0)
    forward = bracket_model("forward", length=6)
    backward = bracket_model("backward", length=6)
    backward.set_weights(forward.get_weights())
    tokens = np.random.default_rng(0).integers(0, 4, size=(3, 6))
    expected = np.asarray(forward(tokens[:, ::-1]))[:, ::-1]
    np.testing.assert_allclose(np.asarray(backward(tokens)), expected, atol=1e-6)


def test_a_forward_answer_does_not_depend_on_the_future_and_a_bidirectional_one_does():
    keras.utils.set_random_seed(1)
    tokens = np.random.default_rng(1).integers(0, 4, size=(1, 8))
    changed = tokens.copy()
    changed[0, -1] = (changed[0, -1] + 1) % 4  # only the last token differs
    forward, both = bracket_model("forward", length=8), bracket_model("bidirectional", length=8)
    np.testing.assert_allclose(forward(tokens)[0, :-1], forward(changed)[0, :-1], atol=1e-7)
    assert not np.allclose(both(tokens)[0, :-1], both(changed)[0, :-1], atol=1e-7)


def test_merge_mode_and_direction_are_checked():
    summed = bracket_model("bidirectional", merge_mode="sum")
    assert summed.layers[2].output.shape[-1] == 32
    with pytest.raises(ValueError, match="direction must be one of"):
        bracket_model("sideways")
