"""Tests for utils.translation: tokenisation, batches, the translator's models, decoding, BLEU."""

from collections import Counter

import keras
import numpy as np
import pytest
import sacrebleu
import tensorflow as tf

from utils.translation import (
    END,
    PADDING_ID,
    START,
    TranslationDecoder,
    bleu_by_length,
    bootstrap_bleu,
    build_translator,
    corpus_bleu,
    detokenize,
    ids_to_tokens,
    make_sentence_vectorizer,
    standardize_sentence,
    standardize_target,
    translation_dataset,
)

PAIRS = [
    ("Go.", "Ve."),
    ("Where is it?", "¿Dónde está?"),
    ("I'm hungry!", "¡Tengo hambre!"),
    ("Tom is here.", "Tom está aquí."),
    ("Is Tom here?", "¿Está Tom aquí?"),
    ("Tom is very, very hungry.", "Tom tiene mucha, mucha hambre."),
]


def standardized(text: str) -> str:
    return standardize_sentence(tf.constant(text)).numpy().decode()


def test_standardize_splits_punctuation_and_keeps_accents():
    assert standardized("¿Dónde está el BAÑO?") == "¿ dónde está el baño ?"
    assert standardized("¡ÉL dijo: SÍ, señor!") == "¡ él dijo : sí , señor !"


def test_standardize_keeps_apostrophes_and_drops_other_symbols():
    assert (
        standardized("I'm sure it's Tom's «car» (red) - 100%") == "i'm sure it's tom's car red 100"
    )
    assert standardized("   ") == ""


def test_standardize_target_wraps_in_start_and_end_after_cleaning():
    assert standardize_target(tf.constant("¡Hola!")).numpy().decode() == f"{START} ¡ hola ! {END}"


@pytest.fixture(scope="module")
def vectorizers():
    source = make_sentence_vectorizer([english for english, _ in PAIRS], max_tokens=50)
    target = make_sentence_vectorizer([spanish for _, spanish in PAIRS], 50, target=True)
    return source, target


def test_vectorizers_learn_tokens_most_frequent_first_with_markers(vectorizers):
    source, target = vectorizers
    source_vocabulary, target_vocabulary = source.get_vocabulary(), target.get_vocabulary()
    assert source_vocabulary[:2] == ["", "[UNK]"]
    assert set(source_vocabulary[2:4]) == {"tom", "is"}  # 4 occurrences each, the most
    assert {START, END, "¿", "¡", "está", "dónde"} <= set(target_vocabulary)
    ids = target(tf.constant(["¿Dónde está Tom?"]))
    assert isinstance(ids, tf.RaggedTensor)  # one row per sentence, as long as the sentence
    tokens = [target_vocabulary[i] for i in ids[0].numpy()]
    assert tokens == [START, "¿", "dónde", "está", "tom", "?", END]
    assert source(tf.constant(["Go xylophone"]))[0].numpy()[1] == 1  # unknown word: the OOV id


def test_dataset_shifts_the_target_by_one_and_pads_on_the_right(vectorizers):
    source, target = vectorizers
    dataset = translation_dataset(PAIRS, source, target, batch_size=2, bucket_boundaries=(5, 7))
    seen = 0
    for (source_ids, decoder_in), decoder_out in dataset:
        source_ids, decoder_in, decoder_out = (
            t.numpy() for t in (source_ids, decoder_in, decoder_out)
        )
        assert decoder_in.shape == decoder_out.shape
        for row_in, row_out in zip(decoder_in, decoder_out, strict=True):
            length = int((row_out != PADDING_ID).sum())
            assert (row_in[length:] == PADDING_ID).all() and (row_out[length:] == PADDING_ID).all()
            np.testing.assert_array_equal(row_in[1:length], row_out[: length - 1])
            assert target.get_vocabulary()[row_in[0]] == START
            assert target.get_vocabulary()[row_out[length - 1]] == END
        # each batch is as wide as its longest sentence, not as the longest in the data
        assert (decoder_out[:, -1] != PADDING_ID).any()
        assert (source_ids[:, -1] != PADDING_ID).any()
        seen += len(decoder_out)
    assert seen == len(PAIRS)


def test_dataset_groups_sentences_by_length_and_knows_its_batch_count(vectorizers):
    source, target = vectorizers
    boundaries = (5, 7)
    dataset = translation_dataset(
        PAIRS, source, target, batch_size=4, shuffle=True, bucket_boundaries=boundaries
    )
    batches = list(dataset)
    assert int(dataset.cardinality()) == len(batches)
    for _, decoder_out in batches:
        steps = (decoder_out.numpy() != PADDING_ID).sum(axis=1)  # decoder steps of each pair
        buckets = np.searchsorted(boundaries, steps, side="right")
        assert len(set(buckets)) == 1


def test_dataset_drops_pairs_longer_than_max_tokens(vectorizers):
    source, target = vectorizers
    dataset = translation_dataset(PAIRS, source, target, batch_size=10, max_tokens=4)
    kept = sum(len(decoder_out) for _, decoder_out in dataset)
    assert kept == 1  # only "Go." -> "[start] ve . [end]" has at most 4 tokens on both sides


def test_dataset_rejects_bad_arguments_with_a_clear_message(vectorizers):
    source, target = vectorizers
    with pytest.raises(ValueError, match="No sentence pairs"):
        translation_dataset([], source, target)
    with pytest.raises(ValueError, match="increasing lengths"):
        translation_dataset(PAIRS, source, target, bucket_boundaries=(7, 5))
    with pytest.raises(ValueError, match="raise max_tokens"):
        translation_dataset(PAIRS, source, target, max_tokens=2)


def test_detokenize_undoes_the_tokenisation_up_to_case():
    tokens = standardized("¿Dónde está Tom, el señor? ¡Aquí!").split()
    assert detokenize(tokens) == "¿dónde está tom, el señor? ¡aquí!"
    assert detokenize([START, "hola", "!", END, ""]) == "hola!"


def test_ids_to_tokens_stops_at_the_end_marker(vectorizers):
    _, target = vectorizers
    vocabulary = target.get_vocabulary()
    ids = [vocabulary.index(token) for token in ("tom", "está", END, "aquí")]
    assert ids_to_tokens(ids, vocabulary) == ["tom", "está"]
    assert ids_to_tokens(ids[:2], vocabulary) == ["tom", "está"]  # unfinished: all tokens


def small_translator(vectorizers, attention: bool, **options):
    keras.utils.set_random_seed(0)
    source, target = vectorizers
    sizes = source.vocabulary_size(), target.vocabulary_size()
    return build_translator(
        attention, *sizes, embedding=8, encoder_units=6, decoder_units=12, **options
    )


def teacher_forced_batch(vectorizers, count: int = 2):
    return next(iter(translation_dataset(PAIRS[-count:], *vectorizers, batch_size=count)))


@pytest.mark.parametrize(
    "attention, score", [(False, "additive"), (True, "additive"), (True, "dot")]
)
def test_one_step_at_a_time_equals_the_training_model(vectorizers, attention, score):
    translator = small_translator(vectorizers, attention, score=score)
    (source_ids, decoder_inputs), _ = teacher_forced_batch(vectorizers, count=1)
    source_ids, decoder_inputs = source_ids.numpy(), decoder_inputs.numpy()
    logits = np.asarray(translator.model([source_ids, decoder_inputs]))[0]
    encoded, state = (np.asarray(x) for x in translator.encoder(source_ids))
    for t in range(decoder_inputs.shape[1]):
        context = [encoded] if attention else []  # only attention reads the encoder's outputs
        outputs = translator.step([decoder_inputs[:, t : t + 1], state, *context])
        expected = logits[t] - np.log(np.exp(logits[t]).sum())
        np.testing.assert_allclose(np.asarray(outputs[0])[0], expected, atol=1e-4)
        state = np.asarray(outputs[1])
    assert len(outputs) == (3 if attention else 2)
    assert (translator.alignment is None) == (not attention)


@pytest.mark.parametrize("attention", [False, True])
def test_the_step_model_takes_only_inputs_that_change_its_outputs(vectorizers, attention):
    # Keras 3.13 (Colab's) refuses to build a model with an input that no output depends on.
    translator = small_translator(vectorizers, attention)
    source_ids = vectorizers[0](["Tom is here."]).to_tensor()
    encoded, state = (np.asarray(x) for x in translator.encoder(source_ids))
    start = np.array([[vectorizers[1].get_vocabulary().index(START)]])
    inputs = [start, state, encoded][: len(translator.step.inputs)]
    assert len(inputs) == (3 if attention else 2)
    before = [np.asarray(x) for x in translator.step(inputs)]
    for changed in range(1, len(inputs)):
        moved = [x + 1.0 if i == changed else x for i, x in enumerate(inputs)]
        after = [np.asarray(x) for x in translator.step(moved)]
        assert not np.allclose(before[0], after[0]), f"input {changed} changes nothing"


def test_dot_product_scores_are_the_decoder_output_against_the_encoder_outputs(vectorizers):
    translator = small_translator(vectorizers, True, score="dot")
    names = [layer.name for layer in translator.model.layers]
    assert "attention" in names and "W_q" not in names and "W_k" not in names
    source_ids = vectorizers[0](["Tom is here."]).to_tensor()
    encoded, state = (np.asarray(x) for x in translator.encoder(source_ids))
    start = vectorizers[1].get_vocabulary().index(START)
    _, h1, alpha = (np.asarray(x) for x in translator.step([np.array([[start]]), state, encoded]))
    scores = encoded[0] @ h1[0]
    expected = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose(alpha[0], expected, atol=1e-5)


@pytest.mark.parametrize("encoder", ["forward", "reversed"])
def test_one_way_encoders_read_in_their_order_and_skip_right_padding(vectorizers, encoder):
    translator = small_translator(vectorizers, False, encoder=encoder)
    (source_ids, _), _ = teacher_forced_batch(vectorizers)  # two sentences, one padded
    source_ids = source_ids.numpy()
    lengths = (source_ids != PADDING_ID).sum(axis=1)
    assert lengths.min() < source_ids.shape[1]  # the shorter one is padded on the right
    _, states = translator.encoder(source_ids)
    embedding, reader = (
        layer for layer in translator.encoder.layers if type(layer).__name__ in ("Embedding", "GRU")
    )
    assert reader.go_backwards == (encoder == "reversed")
    in_order = keras.layers.GRU(reader.units, return_state=True)
    in_order.build((None, None, embedding.output_dim))
    in_order.set_weights(reader.get_weights())
    for row, length in enumerate(lengths):
        words = np.asarray(embedding(source_ids[row : row + 1, :length]))
        _, expected = in_order(words[:, ::-1] if encoder == "reversed" else words)
        np.testing.assert_allclose(np.asarray(states)[row], np.asarray(expected)[0], atol=1e-5)
    different = small_translator(
        vectorizers, False, encoder="forward" if encoder == "reversed" else "reversed"
    )
    assert not np.allclose(np.asarray(different.encoder(source_ids)[1]), np.asarray(states))


def test_build_translator_rejects_inconsistent_options_with_a_clear_message(vectorizers):
    with pytest.raises(ValueError, match="additive"):
        small_translator(vectorizers, True, score="cosine")
    with pytest.raises(ValueError, match="bidirectional"):
        small_translator(vectorizers, False, encoder="backward")
    with pytest.raises(ValueError, match="without attention"):
        small_translator(vectorizers, True, encoder="reversed")
    with pytest.raises(ValueError, match="2 \\* encoder_units = 12"):
        build_translator(False, 10, 10, encoder_units=6, decoder_units=8)


def test_greedy_decoding_is_the_argmax_loop_and_weights_sum_to_one(vectorizers):
    translator = small_translator(vectorizers, True)
    vocabulary = vectorizers[1].get_vocabulary()
    decoder = TranslationDecoder(translator, vectorizers[0], vocabulary, max_length=6)
    source_ids = vectorizers[0](["Is Tom hungry?"]).to_tensor()
    encoded, state = (np.asarray(x) for x in translator.encoder(source_ids))
    token, written = vocabulary.index(START), []
    for _ in range(6):
        log_probs, state, _ = (
            np.asarray(x) for x in translator.step([np.array([[token]]), state, encoded])
        )
        token = int(np.argmax(log_probs[0]))
        written.append(token)
        if token == vocabulary.index(END):
            break
    assert list(decoder.hypotheses("Is Tom hungry?")[0].tokens) == written
    best, score = decoder.translate("Is Tom hungry?")[0]
    assert best == detokenize(ids_to_tokens(written, vocabulary)) and score < 0
    assert len(decoder.translate("Is Tom hungry?", beam_width=3)) == 3
    read, wrote, weights = decoder.attention_map("Is Tom hungry?")
    assert read == ["is", "tom", "hungry", "?"] and len(wrote) == len(written)
    assert weights.shape == (len(written), len(read))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    plain = small_translator(vectorizers, False)
    without = TranslationDecoder(plain, vectorizers[0], vocabulary, 6)
    with pytest.raises(ValueError, match="no attention"):
        without.attention_map("Is Tom hungry?")
    state, token, written = np.asarray(plain.encoder(source_ids)[1]), vocabulary.index(START), []
    for _ in range(6):
        log_probs, state = (np.asarray(x) for x in plain.step([np.array([[token]]), state]))
        token = int(np.argmax(log_probs[0]))
        written.append(token)
        if token == vocabulary.index(END):
            break
    assert list(without.hypotheses("Is Tom hungry?")[0].tokens) == written


def test_corpus_bleu_uses_every_reference_and_checks_its_inputs():
    metric = sacrebleu.BLEU(lowercase=True)
    references = [["the cat sat on the mat .", "a cat was on the mat ."], ["he is here now ."]]
    hypotheses = ["A cat was on the mat .", "he is here now ."]
    assert corpus_bleu(metric, hypotheses, references).score == pytest.approx(100.0)
    worse = corpus_bleu(metric, ["a dog was on the rug .", hypotheses[1]], references).score
    assert 0 < worse < 100
    with pytest.raises(ValueError, match="One translation per sentence"):
        corpus_bleu(metric, hypotheses[:1], references)
    with pytest.raises(ValueError, match="at least one reference"):
        corpus_bleu(metric, hypotheses, [references[0], []])


def test_bootstrap_bleu_rescores_each_resample_and_pairs_systems_on_the_same_ones():
    metric = sacrebleu.BLEU()
    references = [["the cat sat on the mat ."], ["he is here now ."], ["we ate the red apple ."]]
    good = ["the cat sat on the mat .", "he is here now .", "we ate the red apple ."]
    bad = ["the cat sat on a rug .", "he was there then .", "we ate the red apple ."]
    resamples = [np.arange(3), np.array([2, 2, 2]), np.array([0, 1, 1])]
    good_scores = bootstrap_bleu(metric, good, references, resamples)
    bad_scores = bootstrap_bleu(metric, bad, references, resamples)
    np.testing.assert_allclose(good_scores, 100.0)
    assert bad_scores[0] == pytest.approx(corpus_bleu(metric, bad, references).score)
    assert bad_scores[1] == pytest.approx(100.0)  # only the sentence both got right
    assert (good_scores - bad_scores)[2] > (good_scores - bad_scores)[0] > 0


def test_bleu_by_length_scores_each_group_of_sentences_alone():
    metric = sacrebleu.BLEU()
    references = [["he is here ."], ["the cat sat on the mat ."], ["we ate the red apple ."]]
    hypotheses = ["he is here .", "a dog lay on a rug .", "we ate the red apple ."]
    lengths = [4, 7, 6]
    (short_n, short), (long_n, long) = bleu_by_length(
        metric, hypotheses, references, lengths, [(1, 6), (7, 9)]
    )
    assert (short_n, long_n) == (2, 1)
    assert short.score == pytest.approx(100.0)  # both ends of a group count: 4 and 6 are in 1-6
    assert long.score == pytest.approx(corpus_bleu(metric, hypotheses[1:2], references[1:2]).score)
    assert long.score < 100
    with pytest.raises(ValueError, match="No sentence is 10 to 12 long"):
        bleu_by_length(metric, hypotheses, references, lengths, [(10, 12)])
    with pytest.raises(ValueError, match="One length per sentence"):
        bleu_by_length(metric, hypotheses, references, lengths[:2], [(1, 6)])


def test_one_step_with_additive_attention_is_its_formula_in_numpy(vectorizers):
    # Written from the equations, not from the model's code: embed the token, one GRU step, the
    # scores e_s = v . tanh(W_q h + W_k a_s + b_k), alpha = softmax(e), the context sum_s alpha_s
    # a_s, then tanh(W_c [h; context] + b_c) and the logits; log-probabilities are compared.
    from utils.numpy_rnn import gru_forward, softmax

    translator = small_translator(vectorizers, True, score="additive")
    step = translator.step
    source_ids = vectorizers[0](["Tom is very, very hungry."]).to_tensor()
    encoded, state = (np.asarray(x) for x in translator.encoder(source_ids))
    token = vectorizers[1].get_vocabulary().index("tom")
    log_probs, new_state, alpha = (
        np.asarray(x) for x in step([np.array([[token]]), state, encoded])
    )

    (embedding,) = (layer for layer in step.layers if isinstance(layer, keras.layers.Embedding))
    (gru,) = (layer for layer in step.layers if isinstance(layer, keras.layers.GRU))
    (W_q,) = step.get_layer("W_q").get_weights()
    W_k, b_k = step.get_layer("W_k").get_weights()
    (v,) = step.get_layer("attention").get_weights()
    W_c, b_c = step.get_layer("hidden").get_weights()
    W_o, b_o = step.get_layer("logits").get_weights()
    x = embedding.get_weights()[0][[token]][None]  # (1, 1, embedding)
    _, h = gru_forward(x, *gru.get_weights(), reset_after=True, h0=state)
    a = encoded[0]  # (source positions, 2 * encoder units)
    scores = np.tanh(h @ W_q + a @ W_k + b_k) @ v
    weights = softmax(scores)
    context = weights @ a
    logits = np.tanh(np.concatenate([h[0], context]) @ W_c + b_c) @ W_o + b_o
    np.testing.assert_allclose(new_state, h, atol=1e-5)
    np.testing.assert_allclose(alpha[0], weights, atol=1e-5)
    np.testing.assert_allclose(log_probs[0], np.log(softmax(logits)), atol=1e-4)


def bleu_by_hand(hypotheses: list[str], references: list[list[str]]) -> float:
    """Corpus BLEU from Papineni et al.'s definition: n-gram counts (n = 1..4) clipped by their
    largest count in any one reference, pooled over sentences; the geometric mean of the four
    precisions; a brevity penalty against each sentence's closest reference length (the shorter
    one on a tie)."""
    matches, totals, hypothesis_length, reference_length = [0] * 4, [0] * 4, 0, 0
    for hypothesis, refs in zip(hypotheses, references, strict=True):
        words, ref_words = hypothesis.lower().split(), [ref.lower().split() for ref in refs]
        hypothesis_length += len(words)
        reference_length += min((abs(len(r) - len(words)), len(r)) for r in ref_words)[1]
        for n in range(1, 5):
            grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
            most = Counter()
            for ref in ref_words:
                most |= Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
            matches[n - 1] += sum(min(count, most[gram]) for gram, count in grams.items())
            totals[n - 1] += max(len(words) - n + 1, 0)
    log_precision = sum(np.log(m / t) for m, t in zip(matches, totals, strict=True)) / 4
    brevity = min(1.0, np.exp(1 - reference_length / hypothesis_length))
    return 100 * brevity * float(np.exp(log_precision))


def test_corpus_bleu_is_papinenis_formula_by_hand():
    references = [
        ["the cat sat on the mat .", "there is a cat on the mat ."],
        ["he is at home now ."],
        ["we ate the red apple today .", "today we ate a red apple ."],
    ]
    hypotheses = ["the cat is on the mat .", "he is at home .", "we ate the red apple ."]
    expected = bleu_by_hand(hypotheses, references)
    assert 0 < expected < 100
    score = corpus_bleu(sacrebleu.BLEU(lowercase=True), hypotheses, references).score
    assert score == pytest.approx(expected, abs=1e-6)
