"""The sentence pipeline of the translation notebook (11): text in, batches out, text back.

Raw sentences go through :func:`standardize_sentence` (lower case, accents kept, punctuation as
tokens of their own); :func:`make_sentence_vectorizer` maps tokens to ids (0 is padding, 1 the
out-of-vocabulary id) and, for target sentences, wraps them in :data:`START` and :data:`END`;
:func:`translation_dataset` builds teacher-forcing batches grouped by length; :func:`detokenize`
turns decoded tokens back into a sentence for BLEU. :func:`build_translator` builds the
encoder-decoder (with or without attention) and the models decoding needs, and
:class:`TranslationDecoder` translates with the course's beam search; :func:`corpus_bleu`,
:func:`bleu_by_length` and :func:`bootstrap_bleu` score translations against every reference.
Notebook 11 explains each step; its solutions reuse them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf
from sacrebleu.metrics.bleu import BLEU, BLEUScore

from utils.decoding import Hypothesis, beam_search

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


class Translator(NamedTuple):
    """The models one encoder-decoder needs; all share the same layers (and so its weights)."""

    model: keras.Model  # (English ids, Spanish so far) -> next-token logits, for training
    encoder: keras.Model  # English ids -> (outputs at every position, final state)
    step: keras.Model  # (token, state[, encoder outputs]) -> (log-probs, new state[, weights])
    alignment: keras.Model | None  # like model, but -> attention weights (None without)


def build_translator(
    attention: bool,
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    *,
    embedding: int = 128,
    encoder_units: int = 128,
    decoder_units: int = 256,
    score: str = "additive",
    encoder: str = "bidirectional",
) -> Translator:
    """Notebook 11's encoder-decoder: a GRU encoder, a GRU decoder, optional attention.

    ``encoder="bidirectional"``: an embedding and a bidirectional GRU (``encoder_units`` each
    way) output ``[h_fwd_s; h_bwd_s]`` at every English position; the two final states,
    concatenated, start the decoder, so ``decoder_units`` must be ``2 * encoder_units``.
    ``encoder="forward"``: one GRU of ``2 * encoder_units`` units reads the sentence from its
    first word to its last. ``encoder="reversed"``: the same GRU reads it from its last word to
    its first (Sutskever et al., 2014), so that the first English words are the last it reads;
    only for the model without attention, which sees nothing but the final state (its outputs
    come in reading order, reversed).

    The decoder GRU reads the Spanish tokens with teacher forcing. With ``attention`` its output
    ``h_t`` at every step scores every encoder output: ``score="additive"`` (Bahdanau)
    ``v . tanh(W_q h_t + W_k h_s)`` with ``keras.layers.AdditiveAttention``, ``score="dot"``
    (Luong) ``h_t . h_s`` with ``keras.layers.Attention`` and no projections; the weighted
    average of the encoder outputs joins ``h_t`` before the ``tanh`` layer and the softmax.
    The layers are created in a fixed order, so a seeded build gives the same weights. The
    training model is compiled with Adam (clipnorm 1) and a masked cross-entropy.
    """
    if score not in ("additive", "dot"):
        raise ValueError(f'score must be "additive" or "dot", got {score!r}.')
    if encoder not in ("bidirectional", "forward", "reversed"):
        raise ValueError(
            f'encoder must be "bidirectional", "forward" or "reversed", got {encoder!r}.'
        )
    if encoder == "reversed" and attention:
        raise ValueError(
            'encoder="reversed" is for the model without attention: attention reads every '
            'encoder output in order, so use "bidirectional" or "forward" with attention=True.'
        )
    if decoder_units != 2 * encoder_units:
        raise ValueError(
            f"The encoder's final state ({2 * encoder_units} numbers) starts the decoder, so "
            f"decoder_units must be 2 * encoder_units = {2 * encoder_units}, got {decoder_units}."
        )
    layers = keras.layers
    source = keras.Input(shape=(None,), dtype="int64", name="english")
    embedded = layers.Embedding(source_vocabulary_size, embedding, mask_zero=True)(source)
    if encoder == "bidirectional":
        encoder_gru = layers.GRU(encoder_units, return_sequences=True, return_state=True)
        encoded, forward_state, backward_state = layers.Bidirectional(encoder_gru)(embedded)
        encoder_state = layers.Concatenate()([forward_state, backward_state])
    else:
        reader = layers.GRU(
            decoder_units,
            return_sequences=True,
            return_state=True,
            go_backwards=encoder == "reversed",
        )
        encoded, encoder_state = reader(embedded)
    # The decoder's layers, created once and used by both the training and the step model.
    target_embedding = layers.Embedding(target_vocabulary_size, embedding, mask_zero=True)
    decoder_gru = layers.GRU(decoder_units, return_sequences=True, return_state=True)
    if score == "additive":
        query_projection = layers.Dense(decoder_units, use_bias=False, name="W_q")
        key_projection = layers.Dense(decoder_units, name="W_k")
        attention_layer = layers.AdditiveAttention(name="attention")
    else:
        attention_layer = layers.Attention(name="attention")
    hidden = layers.Dense(decoder_units, activation="tanh", name="hidden")
    to_vocabulary = layers.Dense(target_vocabulary_size, name="logits")

    def decode(tokens, state, encoder_outputs):
        outputs, new_state = decoder_gru(target_embedding(tokens), initial_state=state)
        weights = None
        if attention:
            if score == "additive":
                query, key = query_projection(outputs), key_projection(encoder_outputs)
                inputs = [query, encoder_outputs, key]
            else:
                inputs = [outputs, encoder_outputs]
            context, weights = attention_layer(inputs, return_attention_scores=True)
            outputs = layers.Concatenate()([outputs, context])
        return to_vocabulary(hidden(outputs)), new_state, weights

    decoder_input = keras.Input(shape=(None,), dtype="int64", name="spanish_so_far")
    logits, _, alignment_weights = decode(decoder_input, encoder_state, encoded)
    name = "with_attention" if attention else "without_attention"
    model = keras.Model([source, decoder_input], logits, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],  # next-token accuracy; the padding is masked out
    )
    encoder_model = keras.Model(source, [encoded, encoder_state])
    token = keras.Input(shape=(1,), dtype="int64")
    state = keras.Input(shape=(decoder_units,))
    encoder_outputs = keras.Input(shape=(None, 2 * encoder_units))
    step_logits, new_state, weights = decode(token, state, encoder_outputs)
    step_inputs, step_outputs = (
        [token, state],
        [keras.ops.log_softmax(step_logits[:, 0]), new_state],
    )
    if attention:  # without attention the decoder never reads the encoder's outputs
        step_inputs.append(encoder_outputs)
        step_outputs.append(weights[:, 0])
    step = keras.Model(step_inputs, step_outputs)
    alignment = keras.Model([source, decoder_input], alignment_weights) if attention else None
    return Translator(model, encoder_model, step, alignment)


class TranslationDecoder:
    """Translates sentences with a trained :class:`Translator` and the course's beam search.

    The encoder reads the sentence once; :func:`utils.decoding.beam_search` then calls the
    one-step model, compiled once into a graph for every beam size and sentence length (a plain
    Keras call in a Python loop would rebuild its work for every token). The state the search
    carries is the pair (decoder state, encoder outputs), so when it keeps, drops or copies a
    hypothesis, the English sentence it attends to travels with it. A translation may run to
    ``max_length`` tokens.
    """

    def __init__(
        self,
        translator: Translator,
        source_vectorizer: keras.layers.TextVectorization,
        target_vocabulary: Sequence[str],
        max_length: int,
    ) -> None:
        self.translator, self.source_vectorizer = translator, source_vectorizer
        self.source_vocabulary = [str(token) for token in source_vectorizer.get_vocabulary()]
        self.target_vocabulary = [str(token) for token in target_vocabulary]
        self.start_id = self.target_vocabulary.index(START)
        self.end_id = self.target_vocabulary.index(END)
        self.max_length = max_length
        # The step model reads the encoder's outputs only when it attends to them.
        self._attends = len(translator.step.inputs) == 3
        signature = [
            tf.TensorSpec((None, 1), tf.int64),
            *(tf.TensorSpec(spec.shape, tf.float32) for spec in translator.step.inputs[1:]),
        ]
        self._step = tf.function(
            lambda *inputs: translator.step(list(inputs)), input_signature=signature
        )

    def source_ids(self, sentence: str) -> np.ndarray:
        """The sentence as a (1, tokens) batch of English ids."""
        return self.source_vectorizer([sentence]).to_tensor().numpy()

    def hypotheses(
        self, sentence: str, beam_width: int = 1, length_penalty: float = 1.0
    ) -> list[Hypothesis]:
        """Up to ``beam_width`` translations as Spanish token ids (``[end]`` last), best first.

        ``length_penalty=1.0`` ranks by log-probability per token (``[end]`` included), so a
        short translation is not preferred merely for having fewer factors; ``0.0`` ranks by
        the total log-probability. ``beam_width=1`` is greedy decoding.
        """
        encoded, state = (np.asarray(x) for x in self.translator.encoder(self.source_ids(sentence)))

        def step_fn(tokens: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list]:
            decoder_state, encoder_outputs = state
            context = [encoder_outputs] if self._attends else []
            outputs = self._step(tokens[:, None], decoder_state, *context)
            return np.asarray(outputs[0]), [np.asarray(outputs[1]), encoder_outputs]

        return beam_search(
            step_fn,
            [state, encoded],
            self.start_id,
            beam_width,
            self.max_length,
            self.end_id,
            length_penalty=length_penalty,
        )

    def translate(
        self, sentence: str, beam_width: int = 1, length_penalty: float = 1.0
    ) -> list[tuple[str, float]]:
        """Up to ``beam_width`` (Spanish, score) pairs, best first; the score is the search's."""
        return [
            (detokenize(ids_to_tokens(h.tokens, self.target_vocabulary)), h.score)
            for h in self.hypotheses(sentence, beam_width, length_penalty)
        ]

    def attention_map(self, sentence: str) -> tuple[list[str], list[str], np.ndarray]:
        """English tokens read, Spanish tokens written (greedy, ``[end]`` last), and the weights.

        ``weights[t, s]`` is the attention on English token ``s`` while writing token ``t``. The
        weights come from the ``alignment`` model fed the translation the decoder wrote, which
        repeats the decoding steps exactly.
        """
        if self.translator.alignment is None:
            raise ValueError("This translator has no attention, so it has no attention map.")
        written = self.hypotheses(sentence)[0].tokens  # y1 ... yn [end]
        decoder_input = np.array([[self.start_id, *written[:-1]]])  # [start] y1 ... yn
        english_ids = self.source_ids(sentence)
        weights = np.asarray(self.translator.alignment([english_ids, decoder_input]))[0]
        read = [self.source_vocabulary[i] for i in english_ids[0]]
        return read, [self.target_vocabulary[i] for i in written], weights


def corpus_bleu(
    metric: BLEU, hypotheses: Sequence[str], references: Sequence[Sequence[str]]
) -> BLEUScore:
    """Corpus BLEU of one translation per sentence against all of that sentence's references.

    sacrebleu wants one stream per reference position; sentences with fewer references than
    the most leave ``None`` there, which sacrebleu skips.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"One translation per sentence: got {len(hypotheses)} translations for "
            f"{len(references)} sentences' references."
        )
    if any(len(refs) == 0 for refs in references):
        raise ValueError("Every sentence needs at least one reference.")
    streams = max(len(refs) for refs in references)
    padded = [[refs[i] if i < len(refs) else None for refs in references] for i in range(streams)]
    return metric.corpus_score(list(hypotheses), padded)


def bleu_by_length(
    metric: BLEU,
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    lengths: Sequence[int],
    groups: Sequence[tuple[int, int]],
) -> list[tuple[int, BLEUScore]]:
    """For each ``(low, high)`` group: how many sentences are that long, and their corpus BLEU.

    ``lengths`` holds one number per sentence (notebook 11 counts the English tokens), so that
    a model's score can be read by length; both ends of a group are included. An empty group
    has no BLEU and raises, so that a misspelt group cannot pass for a score of 0.
    """
    if not len(hypotheses) == len(references) == len(lengths):
        raise ValueError(
            f"One length per sentence: got {len(hypotheses)} translations, {len(references)} "
            f"sentences' references and {len(lengths)} lengths."
        )
    lengths = np.asarray(lengths)
    scores = []
    for low, high in groups:
        members = np.flatnonzero((lengths >= low) & (lengths <= high))
        if len(members) == 0:
            raise ValueError(f"No sentence is {low} to {high} long: choose groups that hold some.")
        score = corpus_bleu(
            metric, [hypotheses[i] for i in members], [references[i] for i in members]
        )
        scores.append((len(members), score))
    return scores


def bootstrap_bleu(
    metric: BLEU,
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    resamples: Sequence[np.ndarray],
) -> np.ndarray:
    """Corpus BLEU on each resample of the sentences (arrays of sentence indices, with repeats).

    Scoring two systems on the *same* resamples and subtracting gives the paired bootstrap of
    their difference (Koehn, 2004).
    """
    return np.array(
        [
            corpus_bleu(
                metric, [hypotheses[i] for i in sample], [references[i] for i in sample]
            ).score
            for sample in resamples
        ]
    )
