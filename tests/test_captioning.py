"""Tests for utils.captioning: vocabulary, teacher forcing, the captioner's models, decoding."""

import keras
import numpy as np
import pytest

from utils.captioning import (
    PARTS,
    CaptionDecoder,
    CaptionVocabulary,
    attention_in_named_boxes,
    build_captioner,
    scene_checks,
    score_captions,
    teacher_forcing,
)
from utils.tasks import CaptionedScenes, parse_caption

CAPTIONS = ["a small 4 above a large 1", "a large 7 to the left of a small 2", "a small 3"]


def scenes(captions: list[str], seed: int = 0) -> CaptionedScenes:
    images = np.random.default_rng(seed).uniform(size=(len(captions), 48, 48)).astype("float32")
    parsed = [parse_caption(text) for text in captions]
    return CaptionedScenes(images, captions, parsed, [[]] * len(captions), [[]] * len(captions))


def small_captioner(attention: bool, **options):
    keras.utils.set_random_seed(0)
    vocabulary = CaptionVocabulary.from_captions(CAPTIONS)
    captioner = build_captioner(attention, len(vocabulary.words), units=16, embedding=8, **options)
    return captioner, vocabulary


def test_vocabulary_reserves_padding_start_and_end_and_round_trips():
    vocabulary = CaptionVocabulary.from_captions(CAPTIONS)
    assert vocabulary.words[:3] == ("", "[start]", "[end]")
    assert list(vocabulary.words[3:]) == sorted(vocabulary.words[3:])
    assert vocabulary.max_words == 11  # "a large 7 to the left of a small 2" + [end]
    ids = vocabulary.ids(CAPTIONS[1])
    assert vocabulary.text([*ids, vocabulary.end_id, 0]) == CAPTIONS[1]
    with pytest.raises(ValueError, match=r"\['huge'\] not in the vocabulary"):
        vocabulary.ids("a huge 4")


def test_teacher_forcing_shifts_the_caption_by_one():
    vocabulary = CaptionVocabulary.from_captions(CAPTIONS)
    data = scenes(CAPTIONS)
    (images, inputs), targets = teacher_forcing(data, vocabulary)
    assert images.shape == (3, 48, 48, 1) and inputs.shape == targets.shape == (3, 11)
    words = vocabulary.ids(CAPTIONS[2])
    np.testing.assert_array_equal(inputs[2, :4], [vocabulary.start_id, *words])
    np.testing.assert_array_equal(targets[2, :4], [*words, vocabulary.end_id])
    assert not inputs[2, 4:].any() and not targets[2, 4:].any()
    narrow = CaptionVocabulary(vocabulary.words, max_words=4)
    with pytest.raises(ValueError, match="has 7 words"):
        teacher_forcing(scenes(CAPTIONS[:1]), narrow)


@pytest.mark.parametrize(
    "attention, options", [(False, {}), (True, {}), (True, {"context": "input"})]
)
def test_one_step_at_a_time_equals_the_training_model(attention, options):
    captioner, vocabulary = small_captioner(attention, **options)
    (images, inputs), _ = teacher_forcing(scenes(CAPTIONS[:1]), vocabulary)
    logits = np.asarray(captioner.model([images, inputs]))[0]
    grid, state = (np.asarray(x) for x in captioner.encoder(images))
    for t in range(len(vocabulary.ids(CAPTIONS[0])) + 1):
        context = [grid] if attention else []  # only attention reads the grid at every word
        outputs = captioner.step([inputs[:, t : t + 1], state, *context])
        expected = logits[t] - np.log(np.exp(logits[t]).sum())
        np.testing.assert_allclose(np.asarray(outputs[0])[0], expected, atol=1e-4)
        state = np.asarray(outputs[1])
    assert len(outputs) == (3 if attention else 2)
    assert (captioner.attention_maps is None) == (not attention)


@pytest.mark.parametrize("attention", [False, True])
def test_the_step_model_takes_only_inputs_that_change_its_outputs(attention):
    # Keras 3.13 (Colab's) refuses to build a model with an input that no output depends on.
    captioner, vocabulary = small_captioner(attention)
    grid, h0 = (
        np.asarray(x) for x in captioner.encoder(scenes(CAPTIONS[:1]).images[:1, ..., None])
    )
    inputs = [np.array([[vocabulary.start_id]]), h0, grid][: len(captioner.step.inputs)]
    assert len(inputs) == (3 if attention else 2)
    before = [np.asarray(x) for x in captioner.step(inputs)]
    for changed in range(1, len(inputs)):
        moved = [x + 1.0 if i == changed else x for i, x in enumerate(inputs)]
        after = [np.asarray(x) for x in captioner.step(moved)]
        assert not np.allclose(before[0], after[0]), f"input {changed} changes nothing"


def test_dot_product_scores_are_the_decoder_output_against_the_projected_grid():
    captioner, vocabulary = small_captioner(True, score="dot")
    names = [layer.name for layer in captioner.model.layers]
    assert "W_k" in names and "W_q" not in names
    image = scenes(CAPTIONS[:1]).images[:1, ..., None]
    grid, h0 = (np.asarray(x) for x in captioner.encoder(image))
    _, h1, alpha = (
        np.asarray(x) for x in captioner.step([np.array([[vocabulary.start_id]]), h0, grid])
    )
    kernel, bias = (np.asarray(w) for w in captioner.model.get_layer("W_k").weights)
    scores = (grid[0] @ kernel + bias) @ h1[0]
    expected = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose(alpha[0], expected, atol=1e-5)
    with pytest.raises(ValueError, match="additive"):
        build_captioner(True, 10, score="cosine")


def test_grid_positions_is_a_switch_and_the_canvas_is_checked():
    def has_positions(captioner) -> bool:
        return any(type(layer).__name__ == "GridPositions" for layer in captioner.model.layers)

    assert has_positions(small_captioner(True)[0])
    assert not has_positions(small_captioner(True, grid_positions=False)[0])
    with pytest.raises(ValueError, match="48-pixel canvas"):
        build_captioner(True, 10, canvas=64)


def test_greedy_decoding_is_the_argmax_loop_and_maps_sum_to_one():
    captioner, vocabulary = small_captioner(True)
    decoder = CaptionDecoder(captioner, vocabulary)
    image = scenes(CAPTIONS[:1], seed=3).images[0]
    grid, state = (np.asarray(x) for x in captioner.encoder(image[None, ..., None]))
    word, written = vocabulary.start_id, []
    for _ in range(vocabulary.max_words + 2):
        log_probs, state, _ = (
            np.asarray(x) for x in captioner.step([np.array([[word]]), state, grid])
        )
        word = int(np.argmax(log_probs[0]))
        written.append(word)
        if word == vocabulary.end_id:
            break
    assert list(decoder.hypotheses(image)[0].tokens) == written
    assert decoder.caption(image) == vocabulary.text(written)
    words, maps = decoder.attention_maps(image)
    assert len(words) == len(maps) == len(written) and maps.shape[1:] == (6, 6)
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1.0, atol=1e-5)
    without, _ = small_captioner(False)
    with pytest.raises(ValueError, match="no attention"):
        CaptionDecoder(without, vocabulary).attention_maps(image)
    state = np.asarray(without.encoder(image[None, ..., None])[1])
    word, written = vocabulary.start_id, []
    for _ in range(vocabulary.max_words + 2):
        log_probs, state = (np.asarray(x) for x in without.step([np.array([[word]]), state]))
        word = int(np.argmax(log_probs[0]))
        written.append(word)
        if word == vocabulary.end_id:
            break
    assert list(CaptionDecoder(without, vocabulary).hypotheses(image)[0].tokens) == written


def test_scene_checks_say_which_part_of_a_caption_is_wrong():
    truth = parse_caption("a small 4 above a large 1")
    assert all(scene_checks("a small 4 above a large 1", truth).values())
    assert scene_checks("a small 4 above a large 7", truth) == {
        "parses": True,
        "layout": True,
        "digits": False,
        "sizes": True,
    }
    assert not scene_checks("a small 4 to the left of a large 1", truth)["layout"]
    assert not any(scene_checks("a small 4 under", truth).values())


@pytest.mark.parametrize("options", [{}, {"context": "input"}])
def test_the_loss_ignores_the_padding(options):
    captioner, vocabulary = small_captioner(True, **options)
    (images, inputs), targets = teacher_forcing(scenes(CAPTIONS), vocabulary)
    padding = inputs == 0
    assert padding.any()
    changed = np.where(padding, vocabulary.end_id, targets)  # other targets, at padding only
    loss = captioner.model.evaluate([images, inputs], targets, verbose=0, return_dict=True)
    same = captioner.model.evaluate([images, inputs], changed, verbose=0, return_dict=True)
    assert loss["loss"] == pytest.approx(same["loss"], rel=1e-6)


def test_input_context_attends_with_the_previous_state_and_outputs_from_the_new_one():
    captioner, vocabulary = small_captioner(True, context="input")
    image = scenes(CAPTIONS[:1]).images[:1, ..., None]
    grid, h0 = (np.asarray(x) for x in captioner.encoder(image))
    start = np.array([[vocabulary.start_id]])
    log_probs, h1, alpha = (np.asarray(x) for x in captioner.step([start, h0, grid]))
    cell = captioner.model.get_layer("attentive_decoder").cell
    (W_q,), (W_k, b_k), (v,) = (
        [np.asarray(w) for w in layer.weights]
        for layer in (cell.query_projection, cell.key_projection, cell.score)
    )
    scores = np.tanh((h0 @ W_q)[:, None, :] + grid @ W_k + b_k) @ v[:, 0]  # from h0, not h1
    expected = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose(alpha, expected, atol=1e-5)
    hidden, output = captioner.model.get_layer("hidden"), captioner.model.get_layer("logits")
    logits = np.asarray(output(hidden(h1)))  # h1 alone: no context joins the output
    np.testing.assert_allclose(log_probs, logits - np.log(np.exp(logits).sum()), atol=1e-4)
    decoder = CaptionDecoder(captioner, vocabulary)
    words, maps = decoder.attention_maps(image[0, ..., 0])
    assert maps.shape == (len(words), 6, 6)
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1.0, atol=1e-5)
    np.testing.assert_allclose(maps[0].ravel(), alpha[0], atol=1e-5)  # the first word's map


def test_input_context_is_only_for_additive_attention():
    for attention, options in (
        (False, {"context": "input"}),
        (True, {"context": "input", "score": "dot"}),
    ):
        with pytest.raises(ValueError, match="Xu et al"):
            build_captioner(attention, 10, **options)
    with pytest.raises(ValueError, match='"output" or "input"'):
        build_captioner(True, 10, context="before")


class ScriptedDecoder:
    """Stands in for a CaptionDecoder: writes given captions, one per call, in order."""

    def __init__(self, captions: list[str]) -> None:
        self.captions, self.widths = iter(captions), []

    def caption(self, image: np.ndarray, beam_width: int = 1) -> str:
        self.widths.append(beam_width)
        return next(self.captions)


def test_score_captions_scores_exact_match_bleu_and_parts():
    data = scenes(CAPTIONS)
    perfect = score_captions(ScriptedDecoder(CAPTIONS), data)
    assert perfect.captions == CAPTIONS and perfect.exact.all()
    assert perfect.bleu == pytest.approx(100.0) and perfect.seconds >= 0
    assert perfect.part_rates() == {part: 1.0 for part in (*PARTS, "all")}
    written = ["a small 4 above a large 7", "a large 7 above a small 2", "a small 3 a"]
    decoder = ScriptedDecoder(written)
    scores = score_captions(decoder, data, beam_width=5)
    assert decoder.widths == [5, 5, 5]
    assert scores.exact.tolist() == [False, False, False]
    assert 0 < scores.bleu < 100
    assert scores.part_rates() == pytest.approx(
        {"parses": 2 / 3, "layout": 1 / 3, "digits": 0.0, "sizes": 1 / 3, "all": 0.0}
    )


def test_attention_in_named_boxes_reads_each_digit_words_map_over_its_box():
    captioner, vocabulary = small_captioner(True)
    boxes = [[(2, 20, 8), (20, 16, 16)], [(16, 4, 16), (20, 30, 8)], [(8, 24, 8)]]
    data = scenes(CAPTIONS, seed=5)._replace(boxes=boxes)
    inside, by_chance = attention_in_named_boxes(captioner, vocabulary, data, [1, 2])
    assert len(inside) == len(by_chance) == 3  # two digits in scene 1, one in scene 2
    # Scene 2 ("a small 3"): its digit word is the third word; its map from the one-step model.
    grid, state = (np.asarray(x) for x in captioner.encoder(data.images[2:3, ..., None]))
    words = [vocabulary.start_id, *vocabulary.ids(CAPTIONS[2])]
    for word in words[:3]:
        _, state, weights = (
            np.asarray(x) for x in captioner.step([np.array([[word]]), state, grid])
        )
    top, left, side = data.boxes[2][0]
    box = np.zeros((48, 48))
    box[top : top + side, left : left + side] = 1
    overlap = box.reshape(6, 8, 6, 8).mean(axis=(1, 3))
    assert inside[2] == pytest.approx(float((weights[0].reshape(6, 6) * overlap).sum()), abs=1e-5)
    assert by_chance[2] == pytest.approx(side * side / 48**2)
    without, _ = small_captioner(False)
    with pytest.raises(ValueError, match="no attention"):
        attention_in_named_boxes(without, vocabulary, data, [0])


def test_one_step_with_additive_attention_is_its_formula_in_numpy():
    # From the equations: embed the word, one GRU step, e_i = v . tanh(W_q h + W_k a_i + b_k)
    # over the 36 grid cells, alpha = softmax(e), context = sum_i alpha_i a_i, then
    # tanh(W_c [h; context] + b_c) and the logits; log-probabilities are compared.
    from utils.numpy_rnn import gru_forward, softmax

    captioner, vocabulary = small_captioner(True)
    step = captioner.step
    image = scenes(CAPTIONS[:1], seed=7).images[:1, ..., None]
    grid, h0 = (np.asarray(x) for x in captioner.encoder(image))
    word = vocabulary.ids("a small 3")[1]
    log_probs, h1, alpha = (np.asarray(x) for x in step([np.array([[word]]), h0, grid]))

    (embedding,) = (layer for layer in step.layers if isinstance(layer, keras.layers.Embedding))
    (gru,) = (layer for layer in step.layers if isinstance(layer, keras.layers.GRU))
    (W_q,) = step.get_layer("W_q").get_weights()
    W_k, b_k = step.get_layer("W_k").get_weights()
    (v,) = step.get_layer("attention").get_weights()
    W_c, b_c = step.get_layer("hidden").get_weights()
    W_o, b_o = step.get_layer("logits").get_weights()
    x = embedding.get_weights()[0][[word]][None]  # (1, 1, embedding)
    _, h = gru_forward(x, *gru.get_weights(), reset_after=True, h0=h0)
    cells = grid[0]  # (36, 64)
    weights = softmax(np.tanh(h @ W_q + cells @ W_k + b_k) @ v)
    context = weights @ cells
    logits = np.tanh(np.concatenate([h[0], context]) @ W_c + b_c) @ W_o + b_o
    np.testing.assert_allclose(h1, h, atol=1e-5)
    np.testing.assert_allclose(alpha[0], weights, atol=1e-5)
    np.testing.assert_allclose(log_probs[0], np.log(softmax(logits)), atol=1e-4)


def test_the_initial_state_is_tanh_of_the_flattened_grid_in_numpy():
    captioner, _ = small_captioner(False, grid_positions=False)
    image = scenes(CAPTIONS[:1], seed=8).images[:1, ..., None]
    grid, h0 = (np.asarray(x) for x in captioner.encoder(image))
    W_0, b_0 = captioner.encoder.get_layer("h0").get_weights()
    np.testing.assert_allclose(h0[0], np.tanh(grid[0].reshape(-1) @ W_0 + b_0), atol=1e-5)
    assert grid.shape == (1, 36, 64)
