"""Tests for utils.translation: tokenisation, vectorizers, teacher-forcing batches, detokenising."""

import numpy as np
import pytest
import tensorflow as tf

from utils.translation import (
    END,
    PADDING_ID,
    START,
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
