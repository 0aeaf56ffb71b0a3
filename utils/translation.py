"""The sentence pipeline of the translation notebook (11): text in, batches out, text back.

Raw sentences go through :func:`standardize_sentence` (lower case, accents kept, punctuation as
tokens of their own); :func:`make_sentence_vectorizer` maps tokens to ids (0 is padding, 1 the
out-of-vocabulary id) and, for target sentences, wraps them in :data:`START` and :data:`END`;
:func:`translation_dataset` builds teacher-forcing batches grouped by length; :func:`detokenize`
turns decoded tokens back into a sentence for BLEU. Notebook 11 explains each step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

PADDING_ID = 0
OOV_ID = 1
START = "[start]"
END = "[end]"

# Marks that become tokens of their own. Spanish opens questions and exclamations with ¿ and ¡:
# they are kept and split off, so that "¿dónde" is the two tokens "¿" and "dónde".
PUNCTUATION = "¿¡?!.,;:"
_WORD_CHARACTERS = "a-z0-9áéíóúüñàèìòùâêîôûäëïöç'"


@keras.saving.register_keras_serializable(package="rnn_course")
def standardize_sentence(text: tf.Tensor) -> tf.Tensor:
    """Lower-case, keep accented letters, make each punctuation mark a token, drop the rest.

    Unicode-aware: ``tf.strings.lower(..., encoding="utf-8")`` lower-cases "É" to "é" (the
    byte-wise default would leave it). Accents are kept, since they tell "sí" (yes) from "si"
    (if). Apostrophes stay inside words ("don't", "i'm"). Letters outside the accented Latin set
    (and accents typed as separate combining marks) are dropped, like any other symbol.
    """
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, f"([{PUNCTUATION}])", r" \1 ")
    text = tf.strings.regex_replace(text, f"[^{_WORD_CHARACTERS}{PUNCTUATION} ]+", " ")
    return tf.strings.strip(tf.strings.regex_replace(text, " +", " "))


@keras.saving.register_keras_serializable(package="rnn_course")
def standardize_target(text: tf.Tensor) -> tf.Tensor:
    """:func:`standardize_sentence`, then :data:`START` before and :data:`END` after.

    The markers are added after the clean-up, which would otherwise strip their brackets.
    """
    return tf.strings.join([START, standardize_sentence(text), END], separator=" ")


def make_sentence_vectorizer(
    sentences: Sequence[str], max_tokens: int, target: bool = False
) -> keras.layers.TextVectorization:
    """A ``TextVectorization`` adapted to ``sentences``: one id per token, ragged output.

    The output is ragged (one row per sentence, as long as the sentence) so that
    :func:`translation_dataset` can pad each batch only as far as its longest sentence. With
    ``target=True`` every sentence is wrapped in :data:`START` ... :data:`END`, which the
    decoder needs to know where to begin and when to stop. Adapt on the training sentences
    only: the vocabulary is part of the model.
    """
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens,
        standardize=standardize_target if target else standardize_sentence,
        ragged=True,
        name="target_vectorizer" if target else "source_vectorizer",
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(sentences)).batch(1024))
    return vectorizer


def translation_dataset(
    pairs: Sequence[tuple[str, str]],
    source_vectorizer: keras.layers.TextVectorization,
    target_vectorizer: keras.layers.TextVectorization,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
    bucket_boundaries: Sequence[int] = (6, 9, 12, 16),
    max_tokens: int | None = None,
) -> tf.data.Dataset:
    """Teacher-forcing batches ``((source_ids, decoder_input_ids), decoder_target_ids)``.

    For a target ``[start] y1 y2 ... yn [end]`` the decoder reads ``[start] y1 ... yn`` and
    must predict ``y1 ... yn [end]``: the same sentence shifted by one token (teacher forcing).
    Sentences are vectorized once and cached. Batches are drawn from one length bucket at a
    time (``bucket_boundaries`` in decoder steps, the target's tokens minus one) and padded on
    the right only to their longest sentence, so a batch of short sentences costs a few steps,
    not the longest sentence's.
    ``max_tokens`` drops pairs whose source or target (markers included) is longer.
    """
    if not pairs:
        raise ValueError("No sentence pairs given.")
    if list(bucket_boundaries) != sorted(set(bucket_boundaries)) or min(bucket_boundaries) < 2:
        raise ValueError(
            f"bucket_boundaries must be increasing lengths >= 2, got {list(bucket_boundaries)}."
        )
    sources, targets = (list(column) for column in zip(*pairs, strict=True))
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets)).batch(1024)
    dataset = dataset.map(
        lambda source, target: (source_vectorizer(source), target_vectorizer(target)),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).unbatch()
    if max_tokens is not None:
        dataset = dataset.filter(
            lambda source, target: tf.logical_and(
                tf.size(source) <= max_tokens, tf.size(target) <= max_tokens
            )
        )
    dataset = dataset.map(lambda source, target: ((source, target[:-1]), target[1:])).cache()
    # One pass fills the cache and counts the batches each bucket makes, so that Keras knows
    # the epoch's length instead of warning that the input "ran out of data".
    lengths = np.array([int(tf.size(target)) for _, target in dataset], dtype=np.int64)
    if len(lengths) == 0:
        raise ValueError(f"No pair is at most {max_tokens} tokens long; raise max_tokens.")
    kept = len(lengths)
    bucket_sizes = np.bincount(np.searchsorted(bucket_boundaries, lengths, side="right"))
    batch_count = int(np.ceil(bucket_sizes / batch_size).sum())
    if shuffle:
        dataset = dataset.shuffle(kept, seed=seed, reshuffle_each_iteration=True)
    padding = tf.constant(PADDING_ID, tf.int64)
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=lambda inputs, target: tf.shape(target)[0],
        bucket_boundaries=list(bucket_boundaries),
        bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
        padding_values=((padding, padding), padding),
    ).apply(tf.data.experimental.assert_cardinality(batch_count))
    return dataset.prefetch(tf.data.AUTOTUNE)


def detokenize(tokens: Sequence[str]) -> str:
    """Join decoded tokens into a sentence: no space before ``? ! . , ; :`` or after ``¿ ¡``.

    :data:`START`, :data:`END` and padding are dropped. The inverse of the tokenisation up to
    case and the characters :func:`standardize_sentence` removes, so BLEU can compare the
    output with the untouched reference sentences.
    """
    words = [token for token in tokens if token not in (START, END, "")]
    text = " ".join(words)
    text = re.sub(r" ([?!.,;:])", r"\1", text)
    return re.sub(r"([¿¡]) ", r"\1", text)


def ids_to_tokens(ids: Sequence[int], vocabulary: Sequence[str]) -> list[str]:
    """Map ids to tokens, stopping at the first :data:`END` (the end marker itself dropped)."""
    tokens = []
    for token_id in np.asarray(ids).tolist():
        token = vocabulary[token_id]
        if token == END:
            break
        tokens.append(token)
    return tokens
