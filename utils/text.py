"""The IMDB text pipeline shared by the sentiment notebooks (06, 07 and 10).

Raw review strings go through :func:`standardize_review`; a :class:`ReviewVectorizer` maps words
to integer ids (0 is padding, 1 is the out-of-vocabulary id) and cuts every review to a fixed
length; :func:`make_dataset` builds a batched, cached, prefetched ``tf.data`` pipeline,
optionally grouping reviews of similar length into the same batches.
Notebook 06 explains each step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

PADDING_ID = 0
OOV_ID = 1


@keras.saving.register_keras_serializable(package="rnn_course")
def standardize_review(text: tf.Tensor) -> tf.Tensor:
    """Lower-case, turn the archive's ``<br />`` tags into spaces and drop punctuation.

    Apostrophes inside words are kept (``don't`` stays one token). Registered with Keras so
    that a model holding the vectorizer saves to and loads from a ``.keras`` file.
    """
    text = tf.strings.lower(text)
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    text = tf.strings.regex_replace(text, r"[^a-z0-9' ]+", " ")
    return tf.strings.regex_replace(text, r"(^|\s)'+|'+(\s|$)", " ")


@keras.saving.register_keras_serializable(package="rnn_course")
class ReviewVectorizer(keras.layers.TextVectorization):
    """``TextVectorization`` that cuts each review to ``sequence_length`` ids, padded on the right.

    Keras's own ``output_sequence_length`` keeps the *first* words of a long review. Reviewers
    tend to give their verdict at the end, so by default this layer keeps the *last* words
    (``keep="end"``). Short reviews are padded with zeros on the right, the side that masking
    and the cuDNN kernels expect. A review with no words at all (``""``) becomes a single
    out-of-vocabulary id rather than pure padding: a fully masked row makes the cuDNN kernel
    fail on a GPU (``CUDNN_STATUS_BAD_PARAM``), and "one unknown word" is the honest reading of
    an empty review. It saves and loads with the model like any Keras layer.
    """

    def __init__(
        self,
        max_tokens: int,
        sequence_length: int,
        keep: str = "end",
        standardize=standardize_review,
        **kwargs,
    ) -> None:
        if keep not in ("start", "end"):
            raise ValueError(f"keep must be 'start' or 'end', got {keep!r}.")
        if sequence_length < 1:
            raise ValueError(f"sequence_length must be at least 1, got {sequence_length}.")
        for fixed in ("output_mode", "ragged", "output_sequence_length"):
            kwargs.pop(fixed, None)  # set by this class; present in a saved config
        super().__init__(
            max_tokens=max_tokens, standardize=standardize, output_mode="int", ragged=True, **kwargs
        )
        self.sequence_length = sequence_length
        self.keep = keep

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        ids = super().call(inputs)  # ragged for a batch, dense for a single string
        length = self.sequence_length
        ids = ids[..., -length:] if self.keep == "end" else ids[..., :length]
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.to_tensor(default_value=PADDING_ID, shape=[None, length])
        else:
            ids = tf.pad(ids, [[0, length - tf.shape(ids)[0]]], constant_values=PADDING_ID)
        first = ids[..., :1]
        first = tf.where(first == PADDING_ID, tf.constant(OOV_ID, ids.dtype), first)
        return tf.concat([first, ids[..., 1:]], axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        batch = tuple(input_shape[:1]) if len(input_shape) else ()
        return (*batch, self.sequence_length)

    def compute_output_spec(self, inputs) -> keras.KerasTensor:
        shape = self.compute_output_shape(inputs.shape)
        return keras.KerasTensor(shape, dtype="int64")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(sequence_length=self.sequence_length, keep=self.keep)
        return config


def make_vectorizer(
    texts: Sequence[str], max_tokens: int, sequence_length: int, keep: str = "end"
) -> ReviewVectorizer:
    """A :class:`ReviewVectorizer` whose vocabulary is learnt from ``texts``.

    Adapt it on the training texts only: the vocabulary is part of the model, and letting the
    test texts shape it would leak information from the test set.
    """
    vectorizer = ReviewVectorizer(max_tokens, sequence_length, keep=keep, name="vectorizer")
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024))
    return vectorizer


def make_dataset(
    texts: Sequence[str],
    labels: np.ndarray,
    vectorizer: keras.layers.Layer,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
    bucket_boundaries: Sequence[int] = (),
) -> tf.data.Dataset:
    """Batched ``(ids, label)`` pairs: vectorized once, cached in memory, then prefetched.

    The expensive text processing runs in the first epoch only (``cache``); ``prefetch`` lets
    the next batch be prepared while the model trains on the current one. With ``shuffle``,
    the order changes every epoch (after the cache, so it does not freeze one order).

    With ``bucket_boundaries`` (review lengths in words, e.g. ``(100, 200, 300)``), each review
    loses its padding and batches are drawn from one length bucket at a time, each padded
    (on the right) only to its longest review. A recurrent layer runs one step per column, so
    a batch of short reviews then costs a few dozen steps instead of ``sequence_length``. The
    batches come out grouped by length, so the reviews' order changes even without
    ``shuffle``: each label stays with its review, but predictions no longer line up with
    ``texts``.
    """
    if len(texts) != len(labels):
        raise ValueError(f"Got {len(texts)} texts but {len(labels)} labels.")
    if (
        list(bucket_boundaries) != sorted(set(bucket_boundaries))
        or min(bucket_boundaries, default=1) < 1
    ):
        raise ValueError(
            f"bucket_boundaries must be increasing positive lengths, got {list(bucket_boundaries)}."
        )
    dataset = tf.data.Dataset.from_tensor_slices((list(texts), np.asarray(labels)))
    dataset = dataset.batch(1024).map(
        lambda text, label: (vectorizer(text), label), num_parallel_calls=tf.data.AUTOTUNE
    )
    dataset = dataset.unbatch().apply(tf.data.experimental.assert_cardinality(len(texts)))
    if bucket_boundaries:  # padding is only ever on the right, and no word has the id 0
        dataset = dataset.map(lambda ids, label: (ids[: tf.math.count_nonzero(ids)], label))
    dataset = dataset.cache()
    if bucket_boundaries:
        # One pass now fills the cache and tells how many batches each bucket makes; Keras
        # then knows the epoch's length instead of warning that the input "ran out of data".
        lengths = dataset.map(lambda ids, label: tf.size(ids)).batch(4096)
        lengths = np.concatenate([batch.numpy() for batch in lengths])
        bucket_sizes = np.bincount(np.searchsorted(bucket_boundaries, lengths, side="right"))
        batch_count = int(np.ceil(bucket_sizes / batch_size).sum())
    if shuffle:
        dataset = dataset.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    if bucket_boundaries:
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda ids, label: tf.shape(ids)[0],
            bucket_boundaries=list(bucket_boundaries),
            bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
            padding_values=(tf.constant(PADDING_ID, tf.int64), None),
        ).apply(tf.data.experimental.assert_cardinality(batch_count))
    else:
        dataset = dataset.batch(batch_size)
    return dataset.prefetch(tf.data.AUTOTUNE)


def pad_on_the_left(ids: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Move each row's right padding to its front, keeping its words in order (``Dataset.map``).

    This is what Keras's ``pad_sequences`` produces by default (``padding="pre"``), the input
    that the classic Keras IMDB examples feed to an unmasked RNN: it reads the padding first
    and ends on the words. Reversing the words in place, then the whole row, gets there.
    """
    lengths = tf.reduce_sum(tf.cast(ids != PADDING_ID, tf.int32), axis=1)
    words_reversed = tf.reverse_sequence(ids, lengths, seq_axis=1, batch_axis=0)
    return tf.reverse(words_reversed, axis=[1]), labels


def reverse_words(ids: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Each row's words in reverse order, its padding still on the right (``Dataset.map``).

    ``tf.reverse_sequence`` reverses only the first ``n`` ids of a review of ``n`` words, so the
    rows stay strictly right-padded: the mask still works and the cuDNN kernel can still run.
    """
    lengths = tf.reduce_sum(tf.cast(ids != PADDING_ID, tf.int32), axis=1)
    return tf.reverse_sequence(ids, lengths, seq_axis=1, batch_axis=0), labels


def review_datasets(
    splits: Mapping[str, tuple[Sequence[str], np.ndarray]],
    vectorizer: keras.layers.Layer,
    batch_size: int = 64,
    *,
    bucket_boundaries: Sequence[int] = (),
    transform: Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]] | None = None,
) -> dict[str, tf.data.Dataset]:
    """Fresh :func:`make_dataset` pipelines for each part of a split, the ``"train"`` one shuffled.

    ``splits`` maps a part's name to its ``(texts, labels)``; ``transform`` (for example
    :func:`reverse_words` or :func:`pad_on_the_left`) is mapped over every batch. Make fresh
    pipelines for each model: a shuffled training set shared between models would hand each
    one a different order, depending on how often it was read before.
    """
    data = {
        name: make_dataset(
            texts,
            labels,
            vectorizer,
            batch_size,
            shuffle=name == "train",
            bucket_boundaries=bucket_boundaries,
        )
        for name, (texts, labels) in splits.items()
    }
    return {name: part.map(transform) for name, part in data.items()} if transform else data
