"""The character language model and the date translator of notebook 08, shared with its solutions.

Notebook 08 teaches the pieces (the two dictionaries, teacher-forcing windows, a one-step model
that carries the state, decoding); this module holds the recipes that its solutions repeat with
other cells, seeds and data sizes, so that both train and decode in exactly the same way:

- :class:`CharacterCodec`: characters to ids and back, with two ``StringLookup`` layers;
- :func:`next_character_windows`: (input, target) windows, the target shifted by one;
- :func:`character_language_model`, :func:`one_step_model`, :func:`train_language_model`,
  :func:`perplexity`: build, train and score ``Embedding -> RNN layers -> Dense`` models;
- :func:`keras_step_fn`, :func:`read_prompt`: the step-function interface of
  :mod:`utils.decoding` for any one-step Keras model;
- :class:`DateTranslator`, :class:`DecodingCheck`: the encoder-decoder for written dates, its
  free-running decoding and the comparison of greedy decoding with beam search.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from utils.decoding import Hypothesis, State, StepFn, beam_search
from utils.training import EpochTimer

_RECURRENT_LAYERS = (keras.layers.SimpleRNN, keras.layers.GRU, keras.layers.LSTM)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities from logits along the last axis, in float64.

    Computed after subtracting the row maximum, so large logits cannot overflow; float64 so that
    sums over hundreds of characters (a line's log-probability) keep their precision.
    """
    logits = np.asarray(logits, dtype="float64")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class CharacterCodec:
    """The two dictionaries of a character model: characters to ids, and ids back to characters.

    ``ids_from_chars`` is a ``keras.layers.StringLookup`` over ``characters``; id 0 is reserved
    for characters it has never seen (``[UNK]``), so the ids run from 0 to ``len(characters)``.
    ``chars_from_ids`` is the same layer built with ``invert=True``.
    """

    def __init__(self, characters: Sequence[str]) -> None:
        characters = list(characters)
        if not characters or any(len(c) != 1 for c in characters):
            raise ValueError(
                "CharacterCodec needs a non-empty list of single characters, e.g. "
                "sorted(set(text)); got " + repr(characters[:5])
            )
        if len(set(characters)) != len(characters):
            raise ValueError("The characters must be distinct: pass sorted(set(text)).")
        self.characters = characters
        self.ids_from_chars = keras.layers.StringLookup(vocabulary=characters, mask_token=None)
        self.chars_from_ids = keras.layers.StringLookup(
            vocabulary=characters, mask_token=None, invert=True
        )

    @property
    def vocabulary_size(self) -> int:
        """The number of ids, ``[UNK]`` included: the size of the embedding and the softmax."""
        return int(self.ids_from_chars.vocabulary_size())

    def encode(self, string: str) -> np.ndarray:
        """The ids of the characters of ``string``, one per character (0 for unknown ones)."""
        return self.ids_from_chars(tf.strings.unicode_split(string, "UTF-8")).numpy()

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """The string the ids stand for (``[UNK]`` for id 0)."""
        if len(ids) == 0:
            return ""
        return tf.strings.reduce_join(self.chars_from_ids(np.asarray(ids))).numpy().decode("utf-8")


def next_character_windows(token_ids: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping (input, target) windows of ``length`` ids for teacher forcing.

    The target window is the input window moved one id to the right: at every step the input is
    the true id and the target the next one. A trailing remainder too short for a window is
    dropped.

    Returns:
        ``(inputs, targets)``, each of shape ``(n, length)`` with
        ``n = (len(token_ids) - 1) // length``.
    """
    token_ids = np.asarray(token_ids)
    if token_ids.ndim != 1 or length < 1:
        raise ValueError(
            f"Need a 1-D array of ids and a window length >= 1, got shape {token_ids.shape} "
            f"and length {length}."
        )
    n = (len(token_ids) - 1) // length
    if n == 0:
        raise ValueError(
            f"{len(token_ids)} ids are too few for one window of {length} plus its shifted target."
        )
    inputs = token_ids[: n * length].reshape(n, length)
    targets = token_ids[1 : n * length + 1].reshape(n, length)
    return inputs, targets


def character_language_model(
    vocabulary_size: int,
    layer_units: Sequence[int],
    *,
    embedding_dim: int,
    recurrent_layer: type[keras.layers.Layer] = keras.layers.GRU,
    name: str = "char_lm",
) -> keras.Model:
    """``Embedding -> recurrent layers (one per entry of layer_units) -> Dense`` at every step.

    The output is a logit per id at every step (``return_sequences=True``), the many-to-many
    model of notebook 08. Every recurrent layer is built with ``return_state=True`` (its states
    are not outputs of this model), so :func:`one_step_model` can reuse the layers with the
    state as an explicit input. The layers keep their Keras defaults, so GRU and LSTM layers
    stay cuDNN-eligible on a GPU. Layers are created in order (embedding, recurrent layers,
    read-out): under one seed the weights equal those of notebook 08's models.
    """
    if not layer_units:
        raise ValueError("A language model needs at least one recurrent layer: layer_units=().")
    if recurrent_layer not in _RECURRENT_LAYERS:
        raise ValueError(
            f"recurrent_layer must be one of SimpleRNN, GRU or LSTM, got {recurrent_layer!r}."
        )
    characters = keras.Input((None,), dtype="int32", name="characters")
    x = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")(characters)
    for i, units in enumerate(layer_units):
        layer = recurrent_layer(
            units, return_sequences=True, return_state=True, name=f"recurrent_{i + 1}"
        )
        x = layer(x)[0]
    logits = keras.layers.Dense(vocabulary_size, name="readout")(x)
    return keras.Model(characters, logits, name=name)


def _state_count(layer: keras.layers.Layer) -> int:
    return 2 if isinstance(layer, keras.layers.LSTM) else 1


def one_step_model(language_model: keras.Model) -> keras.Model:
    """A model that advances ``language_model`` by one character, with the states explicit.

    Inputs ``[x_t (batch, 1), *states]`` and outputs ``[logits (batch, V), *new_states]``, the
    states listed layer by layer (an LSTM layer has two, ``h`` and ``C``). It is built from the
    same layer objects, so it shares every trained weight.

    Raises:
        ValueError: for a model that is not ``Input -> Embedding -> recurrent layers built with
            return_state=True -> Dense``, e.g. one not made by :func:`character_language_model`.
    """
    layers = language_model.layers
    embedding, *recurrent, readout = layers[1:] if len(layers) >= 4 else (None, None)
    if (
        not isinstance(embedding, keras.layers.Embedding)
        or not isinstance(readout, keras.layers.Dense)
        or not recurrent
        or not all(isinstance(layer, _RECURRENT_LAYERS) for layer in recurrent)
        or not all(layer.return_state for layer in recurrent)
    ):
        raise ValueError(
            "one_step_model needs Input -> Embedding -> recurrent layers with return_state=True "
            "-> Dense; build the model with character_language_model."
        )
    token = keras.Input((1,), dtype="int32", name="x_t")
    x, states_in, states_out = embedding(token), [], []
    for layer in recurrent:
        layer_states = [
            keras.Input((layer.units,), name=f"{layer.name}_state_{j}")
            for j in range(_state_count(layer))
        ]
        x, *new_states = layer(x, initial_state=layer_states)
        states_in += layer_states
        states_out += new_states
    return keras.Model([token, *states_in], [readout(x)[:, 0, :], *states_out])


def zero_state(step_model: keras.Model, batch: int = 1) -> State:
    """Zero states for ``batch`` rows: one array, or a list when the model has several states."""
    states = [np.zeros((batch, *spec.shape[1:]), "float32") for spec in step_model.inputs[1:]]
    return states[0] if len(states) == 1 else states


def keras_step_fn(step_model: keras.Model) -> StepFn:
    """The step function of :mod:`utils.decoding` for a one-step Keras model.

    ``step_model`` maps ``[tokens (batch, 1), *states]`` to ``[logits (batch, V), *states]``
    (as :func:`one_step_model` and notebook 08's translator decoder do). The returned function
    takes the tokens as ``(batch,)`` and the state as one array or a list of arrays, and gives
    back float64 log-probabilities and the new state in the same structure. It calls
    ``predict_on_batch``, the compiled model, far faster per call than calling it eagerly.
    """

    def step(tokens: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        states = list(state) if isinstance(state, list | tuple) else [state]
        outputs = step_model.predict_on_batch(
            [np.asarray(tokens)[:, None].astype("int32"), *states]
        )
        logits, *new_states = outputs
        new_state = new_states if isinstance(state, list | tuple) else new_states[0]
        return log_softmax(logits), new_state

    return step


def read_prompt(step_fn: StepFn, prompt_ids: np.ndarray, state: State) -> tuple[State, int]:
    """The state after reading all of ``prompt_ids`` but the last id, and that last id.

    A generator then feeds the last id as its first input. Every row of ``state`` reads the same
    prompt, so one call prepares a batch of samples.
    """
    prompt_ids = np.asarray(prompt_ids)
    if prompt_ids.ndim != 1 or len(prompt_ids) == 0:
        raise ValueError("The prompt must be a non-empty 1-D array of ids.")
    batch = len(state[0] if isinstance(state, list | tuple) else state)
    for token in prompt_ids[:-1]:
        _, state = step_fn(np.full(batch, token), state)
    return state, int(prompt_ids[-1])


def train_language_model(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    learning_rate: float = 3e-3,
    batch_size: int = 64,
    patience: int = 2,
    verbose: int = 2,
) -> tuple[keras.callbacks.History, EpochTimer]:
    """Notebook 08's recipe: Adam, next-id cross-entropy from logits, the best validation epoch.

    Training stops after ``patience`` epochs without a lower validation loss and keeps the
    weights of the best epoch. Returns the history and the epoch timer.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    timer = EpochTimer()
    history = model.fit(
        *train,
        validation_data=validation,
        batch_size=batch_size,
        epochs=epochs,
        verbose=verbose,
        callbacks=[
            timer,
            keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
        ],
    )
    return history, timer


def perplexity(model: keras.Model, inputs: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """``exp`` of the mean next-id cross-entropy on ``(inputs, targets)``, and the accuracy.

    The model must be compiled with a from-logits cross-entropy and an accuracy metric, as
    :func:`train_language_model` leaves it.
    """
    loss, accuracy = model.evaluate(inputs, targets, batch_size=256, verbose=0)
    return float(np.exp(loss)), float(accuracy)


class DateTranslator:
    """Notebook 08's encoder-decoder for written dates, with its data and its decoders.

    The encoder, an embedding (id 0 masked) and a GRU, reads the source; its last state
    ``h_T`` is the decoder GRU's initial state. The decoder reads the target shifted right
    behind the start symbol ``^`` (teacher forcing) and a read-out gives the logits of the next
    target character; every target ends with the end symbol ``$``.

    Attributes:
        sources, targets: the pairs, as given (all splits; index them with the same slices).
        source_ids: the sources as ids, padded with 0, shape ``(n, longest)``.
        decoder_inputs, decoder_targets: ``^target`` and ``target$`` as ids, ``(n, 11)``.
        start, end: the ids of ``^`` and ``$``.
        model: the teacher-forced model, ``[source_ids, decoder_inputs] -> logits``.
        encoder: ``source_ids -> h_T``; decoder_step: ``[token, h] -> [logits, new h]``.

    Layers are created in notebook 08's order, so under one seed the weights are the
    notebook's.
    """

    def __init__(self, sources: Sequence[str], targets: Sequence[str], units: int = 128) -> None:
        if len(sources) != len(targets) or len(sources) == 0:
            raise ValueError(
                f"Need as many targets as sources, at least one: got {len(sources)} and "
                f"{len(targets)}."
            )
        if len({len(t) for t in targets}) != 1:
            raise ValueError("Every target must have the same length (YYYY-MM-DD).")
        self.sources, self.targets = np.array(sources), np.array(targets)
        self.source_lookup = keras.layers.StringLookup(
            vocabulary=sorted(set("".join(sources))), mask_token=""
        )
        target_characters = ["^", "$", *sorted(set("".join(targets)))]
        self.target_lookup = keras.layers.StringLookup(
            vocabulary=target_characters, mask_token=None
        )
        self.target_chars = keras.layers.StringLookup(
            vocabulary=target_characters, mask_token=None, invert=True
        )
        self.source_ids = (
            self.source_lookup(tf.strings.unicode_split(list(sources), "UTF-8")).to_tensor().numpy()
        )
        target_ids = self.target_lookup(
            tf.strings.unicode_split([f"^{t}$" for t in targets], "UTF-8")
        ).numpy()
        self.decoder_inputs, self.decoder_targets = target_ids[:, :-1], target_ids[:, 1:]
        self.start, self.end = int(self.target_lookup("^")), int(self.target_lookup("$"))
        self.units = units
        self._build()
        self.step = keras_step_fn(self.decoder_step)

    def _build(self) -> None:
        source_in = keras.Input((None,), dtype="int32", name="source")
        source_embedding = keras.layers.Embedding(
            self.source_lookup.vocabulary_size(), 32, mask_zero=True
        )
        _, source_summary = keras.layers.GRU(self.units, return_state=True, name="encoder")(
            source_embedding(source_in)
        )
        target_embedding = keras.layers.Embedding(self.target_lookup.vocabulary_size(), 16)
        decoder_gru = keras.layers.GRU(
            self.units, return_sequences=True, return_state=True, name="decoder"
        )
        readout = keras.layers.Dense(self.target_lookup.vocabulary_size(), name="decoder_readout")
        decoder_in = keras.Input((None,), dtype="int32", name="decoder_input")
        decoded, _ = decoder_gru(target_embedding(decoder_in), initial_state=source_summary)
        self.model = keras.Model([source_in, decoder_in], readout(decoded), name="translator")
        self.encoder = keras.Model(source_in, source_summary)
        token_in = keras.Input((1,), dtype="int32")
        h_in = keras.Input((self.units,))
        step_out, h_out = decoder_gru(target_embedding(token_in), initial_state=h_in)
        self.decoder_step = keras.Model([token_in, h_in], [readout(step_out)[:, 0, :], h_out])

    def train(
        self,
        train_rows: slice,
        validation_rows: slice,
        *,
        epochs: int,
        callbacks: Sequence[keras.callbacks.Callback] = (),
    ) -> tuple[keras.callbacks.History, EpochTimer]:
        """Notebook 08's recipe: teacher forcing, Adam at 1e-3, batches of 64, every epoch kept.

        No early stopping: the notebook follows the decoders through all ``epochs``. Returns
        the history and the epoch timer.
        """
        self.model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        timer = EpochTimer()
        history = self.model.fit(
            *self.teacher_forcing_data(train_rows),
            validation_data=self.teacher_forcing_data(validation_rows),
            batch_size=64,
            epochs=epochs,
            verbose=0,
            callbacks=[timer, *callbacks],
        )
        return history, timer

    def teacher_forcing_data(self, rows: slice) -> tuple[list[np.ndarray], np.ndarray]:
        """``([source_ids, decoder_inputs], decoder_targets)`` of ``rows``, for fit or evaluate."""
        return [self.source_ids[rows], self.decoder_inputs[rows]], self.decoder_targets[rows]

    def to_text(self, tokens: Sequence[int]) -> str:
        """A decoded target as text, the end symbol dropped."""
        if len(tokens) == 0:
            return ""
        joined = tf.strings.reduce_join(self.target_chars(np.asarray(tokens)))
        return joined.numpy().decode().rstrip("$")

    def translate(self, rows: slice, beam_width: int) -> list[list[Hypothesis]]:
        """Every source of ``rows`` decoded free-running: the beam's hypotheses, best first.

        ``beam_width=1`` is greedy decoding. The decoder starts from the encoder's ``h_T`` and
        reads its own outputs, never the true target.
        """
        states = self.encoder.predict(self.source_ids[rows], batch_size=256, verbose=0)
        max_length = self.decoder_targets.shape[1]
        return [
            beam_search(self.step, states[i : i + 1], self.start, beam_width, max_length, self.end)
            for i in range(len(states))
        ]

    def decoding_scores(
        self, rows: slice, beam_width: int
    ) -> tuple[dict[str, float], list[tuple[Any, ...]]]:
        """Exact match of greedy and beam decoding on ``rows``, and where the two disagree.

        Returns:
            ``scores``: the share of whole dates decoded exactly right by greedy decoding
            (``"greedy"``), by the beam's best hypothesis (``"beam of k"``), and the share whose
            answer is among the beam's hypotheses (``"answer among the candidates"``);
            ``disagreements``: ``(source, answer, greedy text, greedy log p, beam text, beam
            log p)`` for every source on which the two decoders differ.
        """
        answers = self.targets[rows]
        greedy = [hs[0] for hs in self.translate(rows, 1)]
        beams = self.translate(rows, beam_width)
        texts = [[self.to_text(h.tokens) for h in hs] for hs in beams]
        greedy_texts = [self.to_text(g.tokens) for g in greedy]
        disagreements = [
            (source, answer, g_text, g.log_prob, b[0], hs[0].log_prob)
            for source, answer, g_text, g, b, hs in zip(
                self.sources[rows], answers, greedy_texts, greedy, texts, beams, strict=True
            )
            if g_text != b[0]
        ]
        scores = {
            "greedy": float(np.mean(np.array(greedy_texts) == answers)),
            f"beam of {beam_width}": float(np.mean(np.array([b[0] for b in texts]) == answers)),
            "answer among the candidates": float(
                np.mean([a in b for a, b in zip(answers, texts, strict=True)])
            ),
        }
        return scores, disagreements


class DecodingCheck(keras.callbacks.Callback):
    """After each epoch: free-running exact match of greedy and beam decoding on some rows.

    Keeps, per epoch, a row of scores (``rows``, with the teacher-forced validation accuracy),
    the disagreements between the decoders and the weights, so an epoch can be decoded again.
    """

    def __init__(self, translator: DateTranslator, rows: slice, beam_width: int) -> None:
        super().__init__()
        self.translator, self.check_rows, self.beam_width = translator, rows, beam_width
        self.rows: list[dict[str, float]] = []
        self.disagreements: dict[int, list[tuple[Any, ...]]] = {}
        self.weights: dict[int, list[np.ndarray]] = {}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        scores, self.disagreements[epoch + 1] = self.translator.decoding_scores(
            self.check_rows, self.beam_width
        )
        teacher_forced = (logs or {}).get("val_accuracy", float("nan"))
        self.rows.append({"epoch": epoch + 1, "teacher-forced": teacher_forced, **scores})
        self.weights[epoch + 1] = self.model.get_weights()
