"""Tests for utils.text: standardisation, fixed-length vectorisation, the tf.data pipeline."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils.text import (
    OOV_ID,
    PADDING_ID,
    ReviewVectorizer,
    make_dataset,
    make_vectorizer,
    pad_on_the_left,
    reverse_words,
    review_datasets,
    standardize_review,
)

TEXTS = ["A good movie.<br /><br />Good!", "A bad, BAD movie... bad", "Don't watch 'it'"]


def test_standardize_review_lowercases_strips_tags_and_punctuation():
    cleaned = standardize_review(tf.constant(TEXTS)).numpy().astype(str)
    assert cleaned[0].split() == ["a", "good", "movie", "good"]
    assert cleaned[1].split() == ["a", "bad", "bad", "movie", "bad"]
    assert cleaned[2].split() == ["don't", "watch", "it"]


@pytest.fixture(scope="module")
def vectorizer():
    return make_vectorizer(TEXTS, max_tokens=6, sequence_length=3)


def test_vocabulary_is_most_frequent_first_with_padding_and_oov(vectorizer):
    vocabulary = vectorizer.get_vocabulary()
    assert vocabulary[PADDING_ID] == "" and vocabulary[OOV_ID] == "[UNK]"
    assert vocabulary[2] == "bad"  # 3 occurrences
    assert set(vocabulary[3:]) == {"a", "good", "movie"}  # 2 each; the rarer words are cut
    assert len(vocabulary) == 6


def test_long_reviews_keep_their_end_and_short_ones_are_right_padded(vectorizer):
    bad, movie = (
        vectorizer.get_vocabulary().index("bad"),
        vectorizer.get_vocabulary().index("movie"),
    )
    ids = vectorizer(tf.constant(["bad bad movie movie bad", "movie"])).numpy()
    assert ids.tolist() == [[movie, movie, bad], [movie, PADDING_ID, PADDING_ID]]


@pytest.mark.parametrize("empty", ["", "   ", "!!! ... <br />"])
def test_a_review_without_words_becomes_one_unknown_word_never_pure_padding(vectorizer, empty):
    # A fully masked row would crash the cuDNN kernel on a GPU.
    assert vectorizer(tf.constant([empty])).numpy().tolist() == [[OOV_ID, PADDING_ID, PADDING_ID]]
    assert vectorizer(tf.constant(empty)).numpy().tolist() == [OOV_ID, PADDING_ID, PADDING_ID]


def test_keep_start_keeps_the_first_words():
    start = make_vectorizer(TEXTS, max_tokens=6, sequence_length=2, keep="start")
    bad = start.get_vocabulary().index("bad")
    movie = start.get_vocabulary().index("movie")
    assert start(tf.constant(["bad movie movie"])).numpy().tolist() == [[bad, movie]]


def test_unknown_words_map_to_the_oov_id(vectorizer):
    assert vectorizer(tf.constant(["zebra quokka"])).numpy().tolist() == [[OOV_ID, OOV_ID, 0]]


def test_a_single_string_gives_one_padded_row(vectorizer):
    movie = vectorizer.get_vocabulary().index("movie")
    assert vectorizer(tf.constant("movie")).numpy().tolist() == [movie, 0, 0]


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="keep must be 'start' or 'end', got 'middle'"):
        ReviewVectorizer(10, 5, keep="middle")
    with pytest.raises(ValueError, match="sequence_length must be at least 1"):
        ReviewVectorizer(10, 0)
    with pytest.raises(ValueError, match="Got 3 texts but 2 labels"):
        make_dataset(TEXTS, np.array([0, 1]), ReviewVectorizer(10, 5))


def test_a_model_taking_raw_strings_saves_and_loads_with_identical_predictions(
    vectorizer, tmp_path
):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(), dtype="string"),
            vectorizer,
            keras.layers.Embedding(6, 4, mask_zero=True),
            keras.layers.GRU(3),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    reviews = tf.constant(["good movie", "bad bad", ""])
    before = model.predict(reviews, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(restored.predict(reviews, verbose=0), before)
    assert restored.layers[0].get_vocabulary() == vectorizer.get_vocabulary()
    assert restored.layers[0].keep == "end" and restored.layers[0].sequence_length == 3


def test_make_dataset_batches_vectorized_pairs_and_shuffles_each_epoch(vectorizer):
    texts = [f"movie {'bad ' * (i % 3)}" for i in range(10)]
    labels = np.arange(10)
    ordered = make_dataset(texts, labels, vectorizer, batch_size=4)
    batches = list(ordered)
    assert [len(y) for _, y in batches] == [4, 4, 2]
    assert batches[0][0].shape == (4, 3) and batches[0][0].dtype == tf.int64
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), labels)

    shuffled = make_dataset(texts, labels, vectorizer, batch_size=10, shuffle=True, seed=1)
    first, second = (next(iter(shuffled))[1].numpy() for _ in range(2))
    assert sorted(first) == list(range(10))
    assert not np.array_equal(first, second), "the order should change between epochs"


def test_make_dataset_buckets_reviews_by_length_and_pads_each_batch_to_its_longest():
    texts = [" ".join(["good"] * n) for n in (1, 9, 2, 8, 3, 7, 1, 9)]
    labels = np.arange(len(texts))
    long_vectorizer = make_vectorizer(texts, max_tokens=4, sequence_length=10)
    dataset = make_dataset(
        texts, labels, long_vectorizer, batch_size=2, shuffle=True, bucket_boundaries=(4,)
    )
    batches = [(ids.numpy(), label.numpy()) for ids, label in dataset]
    assert dataset.cardinality() == len(batches) == 4, "Keras must know the epoch's length"
    lengths_by_label = {}
    for ids, batch_labels in batches:
        lengths = (ids != PADDING_ID).sum(axis=1)
        assert ids.shape[1] == lengths.max(), "each batch is padded only to its longest review"
        assert len(set(lengths >= 4)) == 1, "a batch never mixes the two buckets"
        for row, length, label in zip(ids, lengths, batch_labels, strict=True):
            assert (row[length:] == PADDING_ID).all(), "padding stays on the right"
            lengths_by_label[label] = length
    assert lengths_by_label == {i: len(t.split()) for i, t in enumerate(texts)}


@pytest.mark.parametrize("boundaries", [(200, 100), (0, 100), (100, 100)])
def test_make_dataset_rejects_bucket_boundaries_that_are_not_increasing_and_positive(
    vectorizer, boundaries
):
    with pytest.raises(ValueError, match="increasing positive lengths"):
        make_dataset(TEXTS, np.arange(3), vectorizer, bucket_boundaries=boundaries)


def test_defaults_the_notebooks_rely_on_are_pinned():
    """The sentiment notebooks' prose depends on these defaults: changing one must fail a test.

    Reviews keep their *last* words (the verdict usually comes at the end), pad on the right
    (what cuDNN's masking requires), and ``make_dataset`` neither shuffles nor buckets unless
    asked, with a fixed seed when it does shuffle.
    """
    layer = ReviewVectorizer(max_tokens=6, sequence_length=3)
    assert layer.keep == "end"
    layer.adapt(TEXTS)
    bad = layer.get_vocabulary().index("bad")
    movie = layer.get_vocabulary().index("movie")
    assert layer(tf.constant(["movie bad bad bad"])).numpy().tolist() == [[bad, bad, bad]]
    assert layer(tf.constant(["bad movie"])).numpy().tolist() == [[bad, movie, PADDING_ID]]

    texts, labels = [f"movie {'bad ' * (i % 3)}" for i in range(12)], np.arange(12)
    unshuffled = make_dataset(texts, labels, layer, batch_size=12)
    np.testing.assert_array_equal(next(iter(unshuffled))[1], labels)
    assert next(iter(unshuffled))[0].shape == (12, 3)  # no bucketing: full-length rows
    default_seed, seed_zero = (
        make_dataset(texts, labels, layer, batch_size=12, shuffle=True, **kwargs)
        for kwargs in ({}, {"seed": 0})
    )
    np.testing.assert_array_equal(next(iter(default_seed))[1], next(iter(seed_zero))[1])


def test_pad_on_the_left_moves_the_padding_to_the_front_and_keeps_the_word_order():
    ids = tf.constant([[5, 6, 7, 0, 0], [8, 9, 2, 3, 4], [1, 0, 0, 0, 0]], tf.int64)
    labels = tf.constant([1, 0, 1])
    moved, same_labels = pad_on_the_left(ids, labels)
    np.testing.assert_array_equal(moved, [[0, 0, 5, 6, 7], [8, 9, 2, 3, 4], [0, 0, 0, 0, 1]])
    np.testing.assert_array_equal(same_labels, labels)


def test_reverse_words_reverses_each_review_in_place_and_keeps_the_padding_right():
    ids = tf.constant([[5, 6, 7, 0, 0], [8, 9, 2, 3, 4], [1, 0, 0, 0, 0]], tf.int64)
    labels = tf.constant([1, 0, 1])
    reversed_ids, same_labels = reverse_words(ids, labels)
    np.testing.assert_array_equal(reversed_ids, [[7, 6, 5, 0, 0], [4, 3, 2, 9, 8], [1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(same_labels, labels)


def test_review_datasets_make_every_part_and_shuffle_only_the_training_one(vectorizer):
    texts = [f"review {i} " + "good " * (i % 5) for i in range(40)]
    labels = np.arange(40) % 2
    splits = {"train": (texts, labels), "val": (texts, labels), "test": (texts[:8], labels[:8])}
    data = review_datasets(splits, vectorizer, 8)
    assert list(data) == ["train", "val", "test"]
    in_order = np.concatenate([batch[1].numpy() for batch in data["val"]])
    np.testing.assert_array_equal(in_order, labels)
    shuffled = np.concatenate([batch[1].numpy() for batch in data["train"]])
    assert sorted(shuffled) == sorted(labels) and not np.array_equal(shuffled, labels)
    flipped = review_datasets(splits, vectorizer, 8, transform=reverse_words)["test"]
    plain = review_datasets(splits, vectorizer, 8)["test"]
    for (ids, _), (ids_reversed, _) in zip(plain, flipped, strict=True):
        expected = reverse_words(ids, None)[0]
        np.testing.assert_array_equal(ids_reversed, expected)
