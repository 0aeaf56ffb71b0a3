"""Notebook 12's speech models, shared with its solutions: batches, classifiers, CTC, decoding.

The features come from :mod:`utils.audio`; this module turns them into models. Recordings of
different lengths travel in length-bucketed batches padded on the right (:func:`frame_batches`)
and are read back in order by :func:`predict_padded`. Two many-to-one models classify a whole
recording: :func:`build_baseline` ignores the order of the frames, :func:`build_classifier`
reads them with a bidirectional GRU behind a ``Masking`` layer. :func:`build_transcriber` is the
many-to-many CTC model; :class:`BlankAfterTheEnd` and :func:`ctc_loss` make its padding cost
nothing, and :func:`transcribe` decodes it greedily or with CTC beam search. Every model is
trained the same way, by :func:`fit_with_early_stopping`. Notebook 12 explains each step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from utils.audio import MEL_BANDS
from utils.training import EpochTimer

UNITS = 64
"""GRU units per direction, in every model of notebook 12."""
BATCH_SIZE = 32
PATIENCE = 6
"""Epochs without improvement before early stopping ends a run."""
BUCKETS = (40, 50, 60, 75, 100, 150)
"""Upper bounds, in 10 ms frames, of the length buckets that :func:`frame_batches` groups by."""
STACK = 3
"""The CTC model reads frames stacked in threes: one step every 30 ms."""
CTC_CLASSES = 11
"""The blank (class 0, ``keras.ops.ctc_loss``'s default) and the digits 0-9 (classes 1-10)."""


def frame_batches(
    items: Sequence[np.ndarray] | Callable[[], Sequence[np.ndarray]],
    targets: Sequence,
    *,
    shuffle_seed: int | None = None,
    frames_per_step: int = 1,
    batch_size: int = BATCH_SIZE,
) -> tf.data.Dataset:
    """Pairs ``(frames, target)`` in batches of similar length, padded on the right with zeros.

    A target is a class (many-to-one) or a sequence of labels padded with 0 (CTC). The length
    buckets are :data:`BUCKETS` in 10 ms frames, divided by ``frames_per_step`` when each step
    stacks several frames. ``items`` may be a function returning the items: it is called once
    per epoch (and once here, for the feature width), so it can draw a fresh augmented version
    of every recording each time. ``shuffle_seed=None`` keeps the order (for validation).
    """
    draw = items if callable(items) else lambda: items
    first = draw()
    if len(first) != len(targets) or not len(first):
        raise ValueError(
            f"Need one target per item and at least one item, got {len(first)} items and "
            f"{len(targets)} targets."
        )
    target_shape = (None,) if np.ndim(targets[0]) else ()
    signature = (
        tf.TensorSpec((None, first[0].shape[-1]), tf.float32),
        tf.TensorSpec(target_shape, tf.int32),
    )

    def pairs():
        yield from zip(draw(), targets, strict=True)

    data = tf.data.Dataset.from_generator(pairs, output_signature=signature)
    if shuffle_seed is not None:
        data = data.shuffle(len(targets), seed=shuffle_seed)
    boundaries = [bound // frames_per_step for bound in BUCKETS]
    return data.bucket_by_sequence_length(
        lambda frames, _: tf.shape(frames)[0], boundaries, [batch_size] * (len(boundaries) + 1)
    ).prefetch(tf.data.AUTOTUNE)


def predict_padded(
    model: keras.Model, items: Sequence[np.ndarray], batch_size: int = 256, pad_to: int = 0
) -> list[np.ndarray]:
    """The model's output for every item, in order; sequence outputs cut to the item's length.

    Items are batched sorted by length, so each is padded (with zeros, on the right) only as far
    as the longest of its neighbours; ``pad_to`` pads every batch to at least that many steps,
    to see what a model does with more padding than its training batches had.
    """
    order = np.argsort([len(item) for item in items], kind="stable")
    outputs: list[np.ndarray] = [np.empty(0)] * len(items)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        steps = max(pad_to, *(len(items[i]) for i in chunk))
        batch = np.zeros((len(chunk), steps, items[0].shape[-1]), np.float32)
        for row, i in enumerate(chunk):
            batch[row, : len(items[i])] = items[i]
        result = np.asarray(model(batch, training=False))
        for row, i in enumerate(chunk):
            outputs[i] = result[row, : len(items[i])] if result.ndim == 3 else result[row]
    return outputs


def subset(mask: np.ndarray, values: Sequence) -> list:
    """The entries of ``values`` where the boolean ``mask`` is true, as a list."""
    return [values[i] for i in np.flatnonzero(mask)]


def pooled_frames(items: Sequence[np.ndarray]) -> np.ndarray:
    """Each recording as the mean and the standard deviation of its frames: order thrown away."""
    return np.stack([np.concatenate([f.mean(axis=0), f.std(axis=0)]) for f in items])


def build_baseline(classes: int, features: int = MEL_BANDS) -> keras.Model:
    """A dense network over :func:`pooled_frames`: ``Dense(128, relu) → Dropout → softmax``."""
    model = keras.Sequential(
        [
            keras.Input((2 * features,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_classifier(
    classes: int, features: int = MEL_BANDS, units: int = UNITS, masking: bool = True
) -> keras.Model:
    """``Masking → Bidirectional(GRU) → Dropout → softmax`` over a recording's frames.

    The GRU keeps Keras's defaults, so it is cuDNN-eligible on a GPU; its two final states
    (forward after the last frame, backward after the first) classify the recording.
    ``masking=False`` drops the ``Masking`` layer: the GRUs then read the zero padding too.
    """
    inputs = keras.Input((None, features), name="frames")
    x = keras.layers.Masking(0.0)(inputs) if masking else inputs
    x = keras.layers.Bidirectional(keras.layers.GRU(units))(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.Adam(1e-3, clipnorm=1.0),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def fit_with_early_stopping(
    model: keras.Model,
    train_data: tf.data.Dataset,
    val_data: tf.data.Dataset | tuple,
    epochs: int,
    monitor: str = "val_accuracy",
    patience: int = PATIENCE,
) -> tuple[keras.callbacks.History, EpochTimer]:
    """Train for at most ``epochs``; keep the weights of the best epoch by ``monitor``."""
    timer = EpochTimer()
    stop = keras.callbacks.EarlyStopping(monitor, patience=patience, restore_best_weights=True)
    history = model.fit(
        train_data, validation_data=val_data, epochs=epochs, callbacks=[timer, stop], verbose=0
    )
    return history, timer


def stack_frames(frames: np.ndarray, stack: int = STACK) -> np.ndarray:
    """Consecutive frames joined in groups of ``stack`` (a leftover at the end is dropped)."""
    usable = len(frames) // stack * stack
    return frames[:usable].reshape(-1, stack * frames.shape[-1])


class BlankAfterTheEnd(keras.layers.Layer):
    """Past the end of a recording (the mask), output a certain blank (class 0)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, logits, mask=None):
        if mask is None:
            return logits
        classes = keras.ops.shape(logits)[-1]
        blank = 1e4 * keras.ops.one_hot(
            keras.ops.zeros(keras.ops.shape(logits)[:2], "int32"), classes
        )
        return keras.ops.where(mask[..., None], logits, blank)

    def compute_mask(self, inputs, mask=None):
        return None  # the loss sees every step; the blanks make the padding cost nothing


def ctc_loss(labels, logits):
    """CTC loss of label sequences (digits + 1, padded with 0) given every padded step.

    Behind :class:`BlankAfterTheEnd`, the padded steps are certain blanks, so passing the full
    padded length gives each string's loss at its own length.
    """
    labels = keras.ops.cast(labels, "int32")
    label_length = keras.ops.sum(keras.ops.cast(labels > 0, "int32"), axis=-1)
    steps = keras.ops.full((keras.ops.shape(logits)[0],), keras.ops.shape(logits)[1], dtype="int32")
    return keras.ops.ctc_loss(labels, logits, label_length, steps, mask_index=0)


def build_transcriber(
    recurrent_layers: int = 2,
    bidirectional: bool = True,
    units: int = UNITS,
    features: int = STACK * MEL_BANDS,
) -> keras.Model:
    """``Masking → GRU layers → Dense(11) → BlankAfterTheEnd``, compiled with :func:`ctc_loss`.

    Bidirectional by default (a transcriber may hear the whole string before writing);
    ``bidirectional=False`` keeps the same units per layer, one direction only.
    """
    if recurrent_layers < 1:
        raise ValueError(f"recurrent_layers must be at least 1, got {recurrent_layers}.")
    inputs = keras.Input((None, features), name="stacked_frames")
    x = keras.layers.Masking(0.0)(inputs)
    for _ in range(recurrent_layers):
        gru = keras.layers.GRU(units, return_sequences=True)
        x = (keras.layers.Bidirectional(gru) if bidirectional else gru)(x)
    logits = keras.layers.Dense(CTC_CLASSES, name="blank_and_digits")(x)
    model = keras.Model(inputs, BlankAfterTheEnd()(logits))
    model.compile(keras.optimizers.Adam(1e-3, clipnorm=1.0), loss=ctc_loss)
    return model


def ctc_targets(labels: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Digit sequences as CTC labels: each digit + 1, since class 0 is the blank."""
    return [np.asarray(digits) + 1 for digits in labels]


def transcribe(
    model: keras.Model, items: Sequence[np.ndarray], beam_width: int = 1
) -> list[np.ndarray]:
    """Each item's digits: greedy decoding for ``beam_width=1``, CTC beam search otherwise."""
    logits = predict_padded(model, items)
    results = []
    for start in range(0, len(items), 256):
        chunk = logits[start : start + 256]
        lengths = np.array([len(item) for item in chunk])
        batch = np.zeros((len(chunk), lengths.max(), CTC_CLASSES), np.float32)
        for row, item in enumerate(chunk):
            batch[row, : len(item)] = item
        decoded, _ = keras.ops.ctc_decode(
            keras.ops.log_softmax(batch),
            lengths,
            strategy="greedy" if beam_width == 1 else "beam_search",
            beam_width=beam_width,
            mask_index=0,
        )
        for row in np.asarray(decoded[0]):
            results.append(row[row > 0] - 1)  # drop the -1 padding; classes 1-10 are digits 0-9
    return results
