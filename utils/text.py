"""The IMDB text pipeline shared by the sentiment notebooks (06, 07 and 10).

Raw review strings go through :func:`standardize_review`, a ``TextVectorization`` layer maps
words to integer ids (0 is padding, 1 is the out-of-vocabulary id), and :func:`make_dataset`
builds a batched, cached, prefetched ``tf.data`` pipeline. Notebook 06 explains each step.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
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


def make_vectorizer(
    texts: Sequence[str], max_tokens: int, sequence_length: int, keep: str = "end"
) -> keras.layers.TextVectorization:
    """A ``TextVectorization`` layer adapted on ``texts``, with a fixed output length.

    Args:
        texts: the training texts (never the test texts: the vocabulary is part of the model).
        max_tokens: vocabulary size, padding and out-of-vocabulary ids included.
        sequence_length: every review becomes exactly this many ids.
        keep: ``"end"`` keeps the last ``sequence_length`` words of a long review (where
            reviewers usually give their verdict), ``"start"`` keeps the first ones.
            Short reviews are padded with zeros on the right either way, which is what masking
            and the cuDNN kernels expect.
    """
    if keep not in ("start", "end"):
        raise ValueError(f"keep must be 'start' or 'end', got {keep!r}.")
    if sequence_length < 1 or max_tokens < 3:
        raise ValueError("sequence_length must be at least 1 and max_tokens at least 3.")
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens,
        standardize=standardize_review,
        output_mode="int",
        ragged=True,
        name="vectorizer",
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024))
    return _FixedLength(vectorizer, sequence_length, keep)


@keras.saving.register_keras_serializable(package="rnn_course")
class _FixedLength(keras.layers.Layer):
    """Wraps a ragged ``TextVectorization``: truncates from ``keep``'s other side, pads right."""

    def __init__(
        self,
        vectorizer: keras.layers.TextVectorization,
        sequence_length: int,
        keep: str,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.vectorizer = vectorizer
        self.sequence_length = sequence_length
        self.keep = keep

    def call(self, texts: tf.Tensor) -> tf.Tensor:
        ids = self.vectorizer(texts)
        ids = (
            ids[:, -self.sequence_length :]
            if self.keep == "end"
            else ids[:, : self.sequence_length]
        )
        return ids.to_tensor(default_value=PADDING_ID, shape=[None, self.sequence_length])
