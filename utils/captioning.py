"""Notebook 13's image captioner, shared with its solutions: words, model, decoding, checks.

A small CNN turns a scene into a 6×6 grid of feature vectors; a GRU writes the caption word by
word, seeing the image through its initial state and, with attention, through a weighted average
of the grid at every word (Xu et al., 2015). :class:`CaptionVocabulary` and
:func:`teacher_forcing` turn captions into training arrays, :func:`build_captioner` builds the
models a captioner needs, :class:`CaptionDecoder` writes captions with the course's beam search
and reads the attention maps of a caption, and :func:`scene_checks` reads a caption back through
the grammar's parser to say which parts of it are right. Notebook 13 explains each piece.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import keras
import numpy as np
import sacrebleu
import tensorflow as tf

from utils.decoding import Hypothesis, beam_search
from utils.tasks import CaptionedScenes, Scene, parse_caption

START, END = "[start]", "[end]"
GRID_SIDE = 6
"""The encoder's grid is 6×6 cells: three 2×2 poolings of the 48×48 canvas."""
GRID_FEATURES = 64
"""Feature vector length per grid cell (the last convolution's filters)."""


@dataclass(frozen=True)
class CaptionVocabulary:
    """The words of the training captions, with padding (id 0), ``[start]`` (1) and ``[end]`` (2).

    ``max_words`` is the length of the longest training caption plus one, the length of the
    decoder's input (``[start]`` + caption) and target (caption + ``[end]``) sequences.
    """

    words: tuple[str, ...]
    max_words: int

    @classmethod
    def from_captions(cls, captions: Sequence[str]) -> CaptionVocabulary:
        if not captions:
            raise ValueError("A vocabulary needs at least one training caption.")
        found = sorted({word for text in captions for word in text.split()})
        return cls(("", START, END, *found), max(len(text.split()) for text in captions) + 1)

    @property
    def start_id(self) -> int:
        return 1

    @property
    def end_id(self) -> int:
        return 2

    def ids(self, text: str) -> list[int]:
        """The word ids of a caption; a word not in the vocabulary is an error that names it."""
        index = {word: i for i, word in enumerate(self.words)}
        unknown = [word for word in text.split() if word not in index]
        if unknown:
            raise ValueError(
                f"{unknown} not in the vocabulary of the training captions; build the vocabulary "
                "from captions that use every word the model must write."
            )
        return [index[word] for word in text.split()]

    def text(self, ids: Sequence[int]) -> str:
        """Word ids back to a caption, dropping ``[end]`` and padding."""
        return " ".join(self.words[i] for i in ids if i not in (0, self.end_id))


def teacher_forcing(
    data: CaptionedScenes, vocabulary: CaptionVocabulary
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """``((images, decoder inputs), decoder targets)``, every caption padded to ``max_words``.

    The decoder reads ``[start] w1 … wn`` and must write ``w1 … wn [end]``: the same caption
    shifted by one. Images get a channel axis, as the encoder's convolutions expect.
    """
    inputs = np.zeros((len(data.captions), vocabulary.max_words), np.int64)
    targets = np.zeros_like(inputs)
    for row, text in enumerate(data.captions):
        ids = vocabulary.ids(text)
        if len(ids) + 1 > vocabulary.max_words:
            raise ValueError(
                f"Caption {text!r} has {len(ids)} words; the vocabulary's max_words "
                f"({vocabulary.max_words}) leaves room for {vocabulary.max_words - 1}."
            )
        inputs[row, : len(ids) + 1] = [vocabulary.start_id, *ids]
        targets[row, : len(ids) + 1] = [*ids, vocabulary.end_id]
    return (data.images[..., None], inputs), targets


class GridPositions(keras.layers.Layer):
    """Adds a learnt vector to each cell of a (cells, features) grid, so features know where
    they are: a convolution alone computes the same features wherever a pattern sits."""

    def build(self, input_shape: tuple) -> None:
        self.positions = self.add_weight(shape=input_shape[1:], initializer="zeros")

    def call(self, grid):
        return grid + self.positions


class AttentiveGRUCell(keras.layers.Layer):
    """One decoder step of Xu et al. (2015): attend with the previous state, then update it.

    At word ``t`` the previous state ``h_{t-1}`` scores every grid cell,
    ``alpha_t = softmax(v . tanh(W_q h_{t-1} + W_k a_i))``, the context
    ``z_t = sum_i alpha_{t,i} a_i`` joins the previous word's embedding as the GRU's input, and
    ``h_t = GRU([E w_{t-1}; z_t], h_{t-1})``. The grid is not a sequence, so it reaches every
    step inside the step's input: ``[E w_{t-1}; a_1; ...; a_n]`` (flattened). The step outputs
    ``[h_t; alpha_t]``; its state is ``h_t``. A cell in a Python-level ``keras.layers.RNN`` loop,
    so it cannot use the fused cuDNN kernel that a plain ``GRU`` layer gets.
    """

    def __init__(self, units: int, grid_cells: int, grid_features: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units, self.grid_cells, self.grid_features = units, grid_cells, grid_features
        self.gru = keras.layers.GRUCell(units, name="gru_cell")
        self.query_projection = keras.layers.Dense(units, use_bias=False, name="W_q")
        self.key_projection = keras.layers.Dense(units, name="W_k")
        self.score = keras.layers.Dense(1, use_bias=False, name="v")
        self.state_size = units
        self.output_size = units + grid_cells

    def build(self, input_shape: tuple) -> None:
        words = input_shape[-1] - self.grid_cells * self.grid_features
        self.gru.build((None, words + self.grid_features))
        self.query_projection.build((None, self.units))
        self.key_projection.build((None, self.grid_cells, self.grid_features))
        self.score.build((None, self.grid_cells, self.units))

    def call(self, inputs, states, training: bool = False):
        previous = states[0] if isinstance(states, list | tuple) else states
        split = inputs.shape[-1] - self.grid_cells * self.grid_features
        words = inputs[:, :split]
        grid = keras.ops.reshape(inputs[:, split:], (-1, self.grid_cells, self.grid_features))
        query = self.query_projection(previous)[:, None, :]
        scores = self.score(keras.ops.tanh(query + self.key_projection(grid)))[..., 0]
        weights = keras.ops.softmax(scores, axis=-1)  # alpha_t
        context = keras.ops.sum(weights[..., None] * grid, axis=1)  # z_t
        state, _ = self.gru(
            keras.ops.concatenate([words, context], axis=-1), [previous], training=training
        )
        return keras.ops.concatenate([state, weights], axis=-1), [state]


class _Features(keras.layers.Layer):
    """Features ``start:stop`` of the last axis, passing the sequence mask on (a slice with
    ``keras.ops`` would drop it, and the loss would count the padding)."""

    def __init__(self, start: int, stop: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.start, self.stop = start, stop
        self.supports_masking = True

    def call(self, inputs):
        return inputs[..., self.start : self.stop]


class _WithGridAtEveryStep(keras.layers.Layer):
    """``[embedded words; flattened grid]`` at every step of the words' sequence, with the
    words' mask (the grid, the same at every step, would otherwise have to be a sequence)."""

    def call(self, inputs, mask=None):
        words, grid = inputs
        flat_grid = keras.ops.reshape(grid, (-1, 1, grid.shape[1] * grid.shape[2]))
        every_step = keras.ops.tile(flat_grid, (1, keras.ops.shape(words)[1], 1))
        return keras.ops.concatenate([words, keras.ops.cast(every_step, words.dtype)], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]


class Captioner(NamedTuple):
    """The models of one captioner; they share their layers, so training one trains all."""

    model: keras.Model  # (image, caption so far) -> next-word logits, for training
    encoder: keras.Model  # image -> (grid of features, initial decoder state)
    step: keras.Model  # (word, state[, grid]) -> (log-probs, new state[, weights])
    attention_maps: keras.Model | None  # like model, but -> attention weights (None without)


def build_captioner(
    attention: bool,
    vocabulary_size: int,
    *,
    canvas: int = 48,
    units: int = 256,
    embedding: int = 64,
    grid_positions: bool = True,
    score: str = "additive",
    context: str = "output",
) -> Captioner:
    """A CNN encoder and a GRU decoder, with or without additive attention over the grid.

    The encoder's three convolution and pooling blocks turn the ``canvas``-pixel image into a
    6×6 grid of 64-number vectors; ``grid_positions`` adds a learnt vector per cell. The
    decoder's initial state is ``tanh(W0 [a1; …; a36] + b0)``. With ``attention``, the GRU's
    output at every word scores every cell (``v · tanh(W_q h + W_k a)``), and the weighted
    average of the cells joins the output before the ``tanh`` layer and the softmax.
    ``score="dot"`` scores with a dot product instead (``keras.layers.Attention``),
    ``h · W_k a``: ``W_k`` brings the 64-number cells to the decoder's ``units``, and there is
    no ``W_q``. ``context="input"`` moves the attention before the GRU, as Xu et al. do
    (:class:`AttentiveGRUCell`): each word's map is scored with the previous state and its
    context enters the GRU's input, and the output layer sees ``h_t`` alone; additive scores
    only. The training model is compiled with Adam (clipnorm 1) and a masked cross-entropy.
    """
    if score not in ("additive", "dot"):
        raise ValueError(f'score must be "additive" or "dot", got {score!r}.')
    if context not in ("output", "input"):
        raise ValueError(f'context must be "output" or "input", got {context!r}.')
    if context == "input" and (not attention or score != "additive"):
        raise ValueError(
            'context="input" (Xu et al.) is a way to use additive attention: pass attention=True '
            'and score="additive".'
        )
    if canvas != GRID_SIDE * 8:
        raise ValueError(f"The encoder expects a {GRID_SIDE * 8}-pixel canvas, got {canvas}.")
    layers = keras.layers
    image = keras.Input(shape=(canvas, canvas, 1), name="image")
    x = image
    for filters in (32, 64, GRID_FEATURES):  # 48 -> 24 -> 12 -> 6 cells per side
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    grid = layers.Reshape((-1, GRID_FEATURES))(x)  # 36 cells x 64 features
    if grid_positions:
        grid = GridPositions()(grid)
    initial_state = layers.Dense(units, activation="tanh", name="h0")(layers.Flatten()(grid))
    word_embedding = layers.Embedding(vocabulary_size, embedding, mask_zero=True)
    if context == "input":
        return _input_context_captioner(
            image, grid, initial_state, word_embedding, vocabulary_size, units
        )
    decoder_gru = layers.GRU(units, return_sequences=True, return_state=True)
    query_projection = layers.Dense(units, use_bias=False, name="W_q")
    key_projection = layers.Dense(units, name="W_k")
    if score == "additive":
        attention_layer = layers.AdditiveAttention(name="attention")
    else:
        attention_layer = layers.Attention(name="attention")
    hidden = layers.Dense(units, activation="tanh", name="hidden")
    to_vocabulary = layers.Dense(vocabulary_size, name="logits")

    def decode(words, state, grid):
        outputs, new_state = decoder_gru(word_embedding(words), initial_state=state)
        weights = None
        if attention:
            query = query_projection(outputs) if score == "additive" else outputs
            key = key_projection(grid)
            context, weights = attention_layer([query, grid, key], return_attention_scores=True)
            outputs = layers.Concatenate()([outputs, context])
        return to_vocabulary(hidden(outputs)), new_state, weights

    caption_so_far = keras.Input(shape=(None,), dtype="int64", name="caption_so_far")
    logits, _, maps = decode(caption_so_far, initial_state, grid)
    model = _compiled(
        keras.Model(
            [image, caption_so_far], logits, name="attention" if attention else "no_attention"
        )
    )
    encoder = keras.Model(image, [grid, initial_state])
    word = keras.Input(shape=(1,), dtype="int64")
    state = keras.Input(shape=(units,))
    grid_input = keras.Input(shape=(GRID_SIDE * GRID_SIDE, GRID_FEATURES))
    step_logits, new_state, weights = decode(word, state, grid_input)
    step_inputs, step_outputs = [word, state], [keras.ops.log_softmax(step_logits[:, 0]), new_state]
    if attention:  # without attention the decoder never reads the grid after its first state
        step_inputs.append(grid_input)
        step_outputs.append(weights[:, 0])
    step = keras.Model(step_inputs, step_outputs)
    attention_maps = keras.Model([image, caption_so_far], maps) if attention else None
    return Captioner(model, encoder, step, attention_maps)


def _compiled(model: keras.Model) -> keras.Model:
    """``model``, compiled as :func:`build_captioner`'s training models are."""
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],  # next-word accuracy; the padding is masked out
    )
    return model


def _input_context_captioner(
    image, grid, initial_state, word_embedding, vocabulary_size: int, units: int
) -> Captioner:
    """:func:`build_captioner` with ``context="input"``: the decoder is an RNN of
    :class:`AttentiveGRUCell` steps, fed the word embeddings and, at every step, the grid."""
    layers = keras.layers
    cells = GRID_SIDE * GRID_SIDE
    decoder = layers.RNN(
        AttentiveGRUCell(units, cells, GRID_FEATURES, name="attentive_gru"),
        return_sequences=True,
        return_state=True,
        name="attentive_decoder",
    )
    state_part, weights_part = _Features(0, units), _Features(units)
    hidden = layers.Dense(units, activation="tanh", name="hidden")
    to_vocabulary = layers.Dense(vocabulary_size, name="logits")

    with_grid = _WithGridAtEveryStep()

    def decode(words, state, grid):
        outputs, new_state = decoder(
            with_grid([word_embedding(words), grid]), initial_state=[state]
        )
        return to_vocabulary(hidden(state_part(outputs))), new_state, weights_part(outputs)

    caption_so_far = keras.Input(shape=(None,), dtype="int64", name="caption_so_far")
    logits, _, maps = decode(caption_so_far, initial_state, grid)
    model = _compiled(keras.Model([image, caption_so_far], logits, name="attention_input"))
    encoder = keras.Model(image, [grid, initial_state])
    word = keras.Input(shape=(1,), dtype="int64")
    state = keras.Input(shape=(units,))
    grid_input = keras.Input(shape=(cells, GRID_FEATURES))
    step_logits, new_state, weights = decode(word, state, grid_input)
    step_outputs = [keras.ops.log_softmax(step_logits[:, 0]), new_state, weights[:, 0]]
    step = keras.Model([word, state, grid_input], step_outputs)
    attention_maps = keras.Model([image, caption_so_far], maps)
    return Captioner(model, encoder, step, attention_maps)


class CaptionDecoder:
    """Writes captions for a trained :class:`Captioner` with :func:`utils.decoding.beam_search`.

    The one-step model is compiled once into a graph for every beam size (a plain Keras call in
    a Python loop is much slower). The state the search carries is the pair (decoder state,
    grid), so the image travels with every hypothesis. Scores are log-probabilities per word
    (``length_penalty=1.0``), so a short caption is not preferred merely for having fewer
    factors.
    """

    def __init__(self, captioner: Captioner, vocabulary: CaptionVocabulary) -> None:
        self.captioner, self.vocabulary = captioner, vocabulary
        # The step model reads the grid only when it attends to it.
        self._attends = len(captioner.step.inputs) == 3
        signature = [
            tf.TensorSpec((None, 1), tf.int64),
            *(tf.TensorSpec(spec.shape, tf.float32) for spec in captioner.step.inputs[1:]),
        ]
        self._step = tf.function(
            lambda *inputs: captioner.step(list(inputs)), input_signature=signature
        )

    def hypotheses(self, image: np.ndarray, beam_width: int = 1) -> list[Hypothesis]:
        """Up to ``beam_width`` captions of one (canvas, canvas) image as word ids, best first."""
        grid, state = (np.asarray(x) for x in self.captioner.encoder(image[None, ..., None]))

        def step_fn(words: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list]:
            decoder_state, grid = state
            outputs = self._step(words[:, None], decoder_state, *([grid] if self._attends else []))
            return np.asarray(outputs[0]), [np.asarray(outputs[1]), grid]

        vocabulary = self.vocabulary
        return beam_search(
            step_fn,
            [state, grid],
            vocabulary.start_id,
            beam_width,
            vocabulary.max_words + 2,
            vocabulary.end_id,
            length_penalty=1.0,
        )

    def caption(self, image: np.ndarray, beam_width: int = 1) -> str:
        """The best caption of one image (``beam_width=1``: greedy decoding)."""
        return self.vocabulary.text(self.hypotheses(image, beam_width)[0].tokens)

    def attention_maps(self, image: np.ndarray) -> tuple[list[str], np.ndarray]:
        """The greedy caption's words (``[end]`` included) and, per word, its 6×6 map.

        The maps come from the ``attention_maps`` model fed the caption the decoder wrote, which
        repeats the decoding steps exactly.
        """
        if self.captioner.attention_maps is None:
            raise ValueError("This captioner has no attention, so it has no maps.")
        written = self.hypotheses(image)[0].tokens  # w1 ... wn [end]
        caption_so_far = np.array([[self.vocabulary.start_id, *written[:-1]]])
        maps = np.asarray(self.captioner.attention_maps([image[None, ..., None], caption_so_far]))
        words = [self.vocabulary.words[i] for i in written]
        return words, maps[0].reshape(len(written), GRID_SIDE, GRID_SIDE)


def scene_checks(text: str, truth: Scene) -> dict[str, bool]:
    """Which parts of the scene a caption gets right, read through the grammar's parser.

    ``parses``: the caption is in the grammar; ``layout``: the number of digits and the layout
    are right; ``digits`` and ``sizes``: those are right too, in order.
    """
    try:
        said = parse_caption(text)
    except ValueError:
        return {"parses": False, "layout": False, "digits": False, "sizes": False}
    layout = said.layout == truth.layout and len(said.objects) == len(truth.objects)
    return {
        "parses": True,
        "layout": layout,
        "digits": layout and [o.digit for o in said.objects] == [o.digit for o in truth.objects],
        "sizes": layout and [o.size for o in said.objects] == [o.size for o in truth.objects],
    }


def attention_in_named_boxes(
    captioner: Captioner,
    vocabulary: CaptionVocabulary,
    data: CaptionedScenes,
    indices: Sequence[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Does the model look at the digit it names? One number per digit word of each scene.

    For the true captions of ``data``'s scenes ``indices``, teacher-forced through the
    ``attention_maps`` model (for a caption the model wrote itself, the maps of its decoding),
    the share of each digit word's attention inside the box of the digit it names, each grid
    cell counted by the fraction of it that overlaps the box; and the box's share of the canvas,
    what a model that ignored position would put there on average.
    """
    if captioner.attention_maps is None:
        raise ValueError("This captioner has no attention, so it has no maps.")
    indices = list(indices)
    (images, inputs), _ = teacher_forcing(data, vocabulary)
    maps = captioner.attention_maps.predict(
        [images[indices], inputs[indices]], batch_size=256, verbose=0
    ).reshape(len(indices), vocabulary.max_words, GRID_SIDE, GRID_SIDE)
    canvas = data.images.shape[1]
    cell = canvas // GRID_SIDE
    inside, by_chance = [], []
    for index, scene_maps in zip(indices, maps, strict=True):
        digit_steps = [t for t, word in enumerate(data.captions[index].split()) if word.isdigit()]
        for step, (top, left, side) in zip(digit_steps, data.boxes[index], strict=True):
            box = np.zeros((canvas, canvas))
            box[top : top + side, left : left + side] = 1
            overlap = box.reshape(GRID_SIDE, cell, GRID_SIDE, cell).mean(axis=(1, 3))
            inside.append(float((scene_maps[step] * overlap).sum()))
            by_chance.append(float(overlap.mean()))
    return np.array(inside), np.array(by_chance)


PARTS = ("parses", "layout", "digits", "sizes")
"""What :func:`scene_checks` checks, in the order a caption can go wrong."""


class CaptionScores(NamedTuple):
    """One decoder's captions of a set of scenes, and what they get right."""

    captions: list[str]
    exact: np.ndarray  # bool per scene: the caption is the true one, word for word
    bleu: float  # sacrebleu corpus BLEU against the one true caption per scene
    checks: list[dict[str, bool]]  # scene_checks per scene
    seconds: float  # time spent decoding

    def part_rates(self) -> dict[str, float]:
        """The fraction of scenes with each part right, and with ``all`` of them right."""
        rates = {part: float(np.mean([check[part] for check in self.checks])) for part in PARTS}
        return {**rates, "all": float(np.mean([all(check.values()) for check in self.checks]))}


def score_captions(
    decoder: CaptionDecoder, data: CaptionedScenes, beam_width: int = 1
) -> CaptionScores:
    """Caption every scene of ``data`` once and score the captions three ways.

    Exact match (the true caption, word for word), BLEU (n-gram overlap, which gives partial
    credit for a caption with one wrong digit) and, through the parser, which parts are right.
    """
    start = time.perf_counter()
    written = [decoder.caption(image, beam_width) for image in data.images]
    seconds = time.perf_counter() - start
    exact = np.array([w == t for w, t in zip(written, data.captions, strict=True)])
    bleu = sacrebleu.corpus_bleu(written, [data.captions]).score
    checks = [scene_checks(w, scene) for w, scene in zip(written, data.scenes, strict=True)]
    return CaptionScores(written, exact, bleu, checks, seconds)
