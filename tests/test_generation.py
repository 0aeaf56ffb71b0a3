"""Tests for utils.generation."""

import keras
import numpy as np
import pytest

from utils.config import seed_everything
from utils.generation import (
    CharacterCodec,
    DateTranslator,
    DecodingCheck,
    character_language_model,
    keras_step_fn,
    log_softmax,
    next_character_windows,
    one_step_model,
    perplexity,
    read_prompt,
    train_language_model,
    zero_state,
)
from utils.tasks import make_date_pairs


def test_log_softmax_gives_log_probabilities_even_for_huge_logits():
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]], dtype="float32")
    log_p = log_softmax(logits)

    assert log_p.dtype == np.float64 and np.isfinite(log_p).all()
    np.testing.assert_allclose(np.exp(log_p).sum(axis=-1), 1.0)
    np.testing.assert_allclose(log_p[0], np.log(np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum()))


def test_the_codec_round_trips_and_maps_unknown_characters_to_zero():
    codec = CharacterCodec(sorted(set("hello world\n")))

    assert codec.vocabulary_size == 10  # nine characters and [UNK]
    np.testing.assert_array_equal(codec.encode("lol"), [6, 7, 6])  # "\n dehlorw"
    assert codec.decode(codec.encode("hello world\n")) == "hello world\n"
    assert codec.encode("z")[0] == 0 and codec.decode([0]) == "[UNK]"
    assert codec.decode([]) == ""


def test_the_codec_rejects_what_is_not_a_list_of_distinct_characters():
    with pytest.raises(ValueError, match="single characters"):
        CharacterCodec(["ab", "c"])
    with pytest.raises(ValueError, match="distinct"):
        CharacterCodec(["a", "a"])


def test_windows_shift_the_target_by_one_and_drop_the_remainder():
    inputs, targets = next_character_windows(np.arange(12), 5)

    np.testing.assert_array_equal(inputs, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])
    np.testing.assert_array_equal(targets, [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]])
    with pytest.raises(ValueError, match="too few"):
        next_character_windows(np.arange(5), 5)
    with pytest.raises(ValueError, match="1-D array"):
        next_character_windows(np.zeros((3, 3)), 2)


def gru_params(inputs, units):
    return 3 * (units * (inputs + units) + 2 * units)


def test_the_language_model_has_the_parameters_of_its_layers():
    model = character_language_model(10, (8, 6), embedding_dim=4)
    expected = 10 * 4 + gru_params(4, 8) + gru_params(8, 6) + 6 * 10 + 10
    assert model.count_params() == expected
    assert model(np.zeros((2, 7), "int32")).shape == (2, 7, 10)

    lstm = character_language_model(10, (8,), embedding_dim=4, recurrent_layer=keras.layers.LSTM)
    assert lstm.count_params() == 10 * 4 + 4 * (8 * (4 + 8) + 8) + 8 * 10 + 10


def test_the_language_model_rejects_no_layers_and_other_layer_kinds():
    with pytest.raises(ValueError, match="at least one recurrent layer"):
        character_language_model(10, (), embedding_dim=4)
    with pytest.raises(ValueError, match="SimpleRNN, GRU or LSTM"):
        character_language_model(10, (4,), embedding_dim=4, recurrent_layer=keras.layers.Dense)


@pytest.mark.parametrize(
    ("layer", "units"),
    [(keras.layers.GRU, (8, 6)), (keras.layers.LSTM, (8,)), (keras.layers.SimpleRNN, (5,))],
)
def test_one_step_at_a_time_equals_the_whole_sequence(layer, units):
    seed_everything(0)
    model = character_language_model(10, units, embedding_dim=4, recurrent_layer=layer)
    step_fn = keras_step_fn(one_step_model(model))
    tokens = np.random.default_rng(0).integers(1, 10, size=(2, 9))

    whole = log_softmax(model.predict(tokens, verbose=0))
    state = zero_state(one_step_model(model), batch=2)
    stepwise = []
    for t in range(tokens.shape[1]):
        log_p, state = step_fn(tokens[:, t], state)
        stepwise.append(log_p)
    np.testing.assert_allclose(np.stack(stepwise, axis=1), whole, atol=1e-5)


def test_zero_state_is_one_array_per_state_in_the_models_structure():
    gru_step = one_step_model(character_language_model(10, (8,), embedding_dim=4))
    assert zero_state(gru_step, 3).shape == (3, 8)
    lstm = character_language_model(10, (8, 5), embedding_dim=4, recurrent_layer=keras.layers.LSTM)
    shapes = [part.shape for part in zero_state(one_step_model(lstm), 3)]
    assert shapes == [(3, 8), (3, 8), (3, 5), (3, 5)]


def test_one_step_model_refuses_a_model_whose_layers_hide_their_states():
    characters = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4)(characters)
    x = keras.layers.GRU(8, return_sequences=True)(x)
    model = keras.Model(characters, keras.layers.Dense(10)(x))
    with pytest.raises(ValueError, match="character_language_model"):
        one_step_model(model)
    with pytest.raises(ValueError, match="character_language_model"):
        one_step_model(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))


def test_read_prompt_leaves_the_last_id_to_be_fed():
    seed_everything(0)
    model = character_language_model(10, (8,), embedding_dim=4)
    step_model = one_step_model(model)
    step_fn = keras_step_fn(step_model)
    state, last = read_prompt(step_fn, np.array([3, 1, 4]), zero_state(step_model, batch=2))

    expected = zero_state(step_model)
    for token in (3, 1):
        _, expected = step_fn(np.array([token]), expected)
    assert last == 4 and state.shape == (2, 8)
    np.testing.assert_allclose(state, np.repeat(expected, 2, axis=0), atol=1e-6)
    with pytest.raises(ValueError, match="non-empty"):
        read_prompt(step_fn, np.array([], int), zero_state(step_model))


def test_training_learns_a_repeating_text_and_perplexity_is_exp_of_the_loss():
    seed_everything(0)
    ids = np.tile(np.array([1, 2, 3, 4]), 200)
    inputs, targets = next_character_windows(ids, 8)
    model = character_language_model(5, (16,), embedding_dim=4)
    history, timer = train_language_model(
        model, (inputs, targets), (inputs, targets), epochs=20, learning_rate=1e-2, verbose=0
    )

    value, accuracy = perplexity(model, inputs, targets)
    assert len(timer.epoch_seconds) == len(history.epoch)
    np.testing.assert_allclose(value, np.exp(min(history.history["val_loss"])), rtol=1e-4)
    assert value < 1.5 and accuracy > 0.8  # a uniform guess over 5 ids has perplexity 5


@pytest.fixture(scope="module")
def translator():
    sources, targets = make_date_pairs(40, seed=0)
    seed_everything(0)
    return DateTranslator(sources, targets, units=8)


def test_the_translator_holds_teacher_forcing_arrays(translator):
    (source_ids, decoder_inputs), decoder_targets = translator.teacher_forcing_data(slice(0, 5))

    assert source_ids.shape[0] == 5 and decoder_inputs.shape == decoder_targets.shape == (5, 11)
    np.testing.assert_array_equal(decoder_inputs[:, 1:], decoder_targets[:, :-1])
    assert (decoder_inputs[:, 0] == translator.start).all()
    assert (decoder_targets[:, -1] == translator.end).all()
    assert translator.to_text(decoder_targets[0]) == translator.targets[0]
    assert translator.model(translator.teacher_forcing_data(slice(0, 2))[0]).shape == (2, 11, 14)


def test_greedy_translation_is_the_argmax_loop(translator):
    (hypothesis,) = translator.translate(slice(3, 4), beam_width=1)[0]
    state = translator.encoder.predict(translator.source_ids[3:4], verbose=0)
    tokens = [translator.start]
    for _ in range(11):
        log_p, state = translator.step(np.array(tokens[-1:]), state)
        tokens.append(int(log_p[0].argmax()))
        if tokens[-1] == translator.end:
            break
    assert hypothesis.tokens == tuple(tokens[1:])


def test_decoding_scores_count_the_disagreements(translator):
    scores, disagreements = translator.decoding_scores(slice(0, 6), beam_width=3)
    greedy = [translator.to_text(hs[0].tokens) for hs in translator.translate(slice(0, 6), 1)]
    beams = translator.translate(slice(0, 6), 3)

    assert set(scores) == {"greedy", "beam of 3", "answer among the candidates"}
    assert scores["greedy"] == np.mean(np.array(greedy) == translator.targets[:6])
    assert len(disagreements) == sum(
        g != translator.to_text(b[0].tokens) for g, b in zip(greedy, beams, strict=True)
    )
    assert all(len(hs) == 3 for hs in beams)


def test_training_with_the_decoding_check_keeps_a_row_and_the_weights_of_every_epoch(translator):
    check = DecodingCheck(translator, slice(30, 34), beam_width=2)
    history, timer = translator.train(slice(0, 30), slice(30, 40), epochs=2, callbacks=[check])

    assert history.epoch == [0, 1] and len(timer.epoch_seconds) == 2
    assert [row["epoch"] for row in check.rows] == [1, 2] and set(check.weights) == {1, 2}
    assert 0.0 <= check.rows[1]["teacher-forced"] <= 1.0
    for a, b in zip(check.weights[2], translator.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_translator_rejects_unmatched_pairs():
    with pytest.raises(ValueError, match="as many targets as sources"):
        DateTranslator(["1 May 2001"], [], units=4)
