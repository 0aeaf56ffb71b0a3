"""Tests for utils.speech: batches, padded prediction, the models and CTC decoding."""

import itertools

import keras
import numpy as np
import pytest

from utils.speech import (
    CTC_CLASSES,
    BlankAfterTheEnd,
    build_classifier,
    build_transcriber,
    ctc_loss,
    ctc_targets,
    fit_with_early_stopping,
    frame_batches,
    pooled_frames,
    predict_padded,
    stack_frames,
    subset,
    transcribe,
)


def recordings(lengths: list[int], features: int = 4, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(length, features)).astype(np.float32) + 3.0 for length in lengths]


def test_frame_batches_pad_each_batch_on_the_right_to_its_longest_recording():
    items = recordings([5, 7, 45, 48, 6])
    batches = list(frame_batches(items, [0, 1, 2, 3, 4], batch_size=8))
    seen = {}
    for frames, targets in batches:
        lengths = [int((np.abs(row).sum(axis=-1) > 0).sum()) for row in frames.numpy()]
        assert frames.shape[1] == max(lengths)  # padded only as far as the longest
        for row, target, length in zip(frames.numpy(), targets.numpy(), lengths, strict=True):
            np.testing.assert_array_equal(row[:length], items[target])
            assert not row[length:].any()
            seen[int(target)] = length
    assert seen == {0: 5, 1: 7, 2: 45, 3: 48, 4: 6}
    assert len(batches) == 2  # below 40 frames, and 40-50 frames


def test_frame_batches_call_a_function_of_items_once_per_epoch():
    calls = []

    def versions():
        calls.append(len(calls))
        return recordings([6, 6], seed=len(calls))

    data = frame_batches(versions, [0, 1])
    first, second = (next(iter(data))[0].numpy() for _ in range(2))
    assert len(calls) == 3  # once for the feature width, once per epoch
    assert not np.allclose(first, second)


def test_frame_batches_refuse_targets_that_do_not_match_the_items():
    with pytest.raises(ValueError, match="one target per item"):
        frame_batches(recordings([5, 6]), [0])


def test_predict_padded_keeps_the_order_and_masking_ignores_extra_padding():
    keras.utils.set_random_seed(0)
    masked, unmasked = build_classifier(3, features=4), build_classifier(3, 4, masking=False)
    items = recordings([9, 3, 6])
    for model in (masked, unmasked):
        alone = [np.asarray(model(item[None]))[0] for item in items]
        np.testing.assert_allclose(np.stack(predict_padded(model, items, batch_size=1)), alone)
    np.testing.assert_allclose(
        predict_padded(masked, items, pad_to=40), predict_padded(masked, items), atol=1e-6
    )
    far = np.stack(predict_padded(unmasked, items, pad_to=40))
    assert not np.allclose(far, np.stack(predict_padded(unmasked, items)), atol=1e-3)


def test_classifier_layers_and_pooled_frames():
    names = [type(layer).__name__ for layer in build_classifier(10).layers]
    assert names == ["InputLayer", "Masking", "Bidirectional", "Dropout", "Dense"]
    assert "Masking" not in [
        type(layer).__name__ for layer in build_classifier(10, 13, 8, False).layers
    ]
    items = recordings([4, 9])
    pooled = pooled_frames(items)
    assert pooled.shape == (2, 8)
    np.testing.assert_allclose(pooled[1], np.concatenate([items[1].mean(0), items[1].std(0)]))
    assert subset(np.array([True, False, True]), ["a", "b", "c"]) == ["a", "c"]


def test_fit_with_early_stopping_keeps_the_best_epoch():
    keras.utils.set_random_seed(1)
    items, targets = recordings([8] * 32, seed=2), [i % 2 for i in range(32)]
    for item, target in zip(items, targets, strict=True):
        item[:, 0] += 2.0 * target  # the class is written in the first feature
    model = build_classifier(2, features=4, units=4)
    history, timer = fit_with_early_stopping(
        model, frame_batches(items, targets, shuffle_seed=0), frame_batches(items, targets), 3
    )
    assert len(history.epoch) == len(timer.epoch_seconds) == 3
    best = max(history.history["val_accuracy"])
    assert model.evaluate(frame_batches(items, targets), verbose=0)[1] == pytest.approx(best)


def test_stack_frames_joins_consecutive_frames_and_drops_the_rest():
    frames = np.arange(7 * 2).reshape(7, 2)
    stacked = stack_frames(frames, 3)
    assert stacked.shape == (2, 6)
    np.testing.assert_array_equal(stacked[1], frames[3:6].ravel())


def test_ctc_loss_of_a_padded_batch_equals_the_loss_at_each_length():
    keras.utils.set_random_seed(0)
    model = build_transcriber(units=8, features=6)
    one = recordings([12], features=6)[0]
    padded = np.concatenate([one, np.zeros((5, 6), np.float32)])[None]
    label = np.array([[3, 1, 3, 0]])  # digits 2 0 2, padded with the blank
    alone = keras.ops.ctc_loss(label, model(one[None]), [3], [len(one)], mask_index=0)
    np.testing.assert_allclose(
        np.asarray(ctc_loss(label, model(padded))), np.asarray(alone), rtol=1e-5
    )
    assert [digits.tolist() for digits in ctc_targets([np.array([2, 0, 2])])] == [[3, 1, 3]]


def test_transcriber_variants_and_their_error():
    def recurrent_params(model: keras.Model) -> int:
        return sum(
            layer.count_params()
            for layer in model.layers
            if type(layer).__name__ in ("GRU", "Bidirectional")
        )

    bidirectional, one_way = build_transcriber(1, units=8), build_transcriber(1, False, units=8)
    assert [type(layer).__name__ for layer in one_way.layers][2] == "GRU"
    assert recurrent_params(bidirectional) == 2 * recurrent_params(one_way) > 0
    assert build_transcriber(units=8).output_shape == (None, None, CTC_CLASSES)
    with pytest.raises(ValueError, match="at least 1"):
        build_transcriber(0)


def test_transcribe_collapses_repeats_then_drops_blanks():
    identity = keras.Sequential([keras.Input((None, CTC_CLASSES)), keras.layers.Identity()])
    paths = [[1, 1, 0, 1, 3, 3, 0], [5, 0, 5, 5], [0, 0]]  # class 0 is the blank
    items = [10.0 * np.eye(CTC_CLASSES, dtype=np.float32)[path] for path in paths]
    for width in (1, 4):
        decoded = [digits.tolist() for digits in transcribe(identity, items, beam_width=width)]
        assert decoded == [[0, 0, 2], [4, 4], []]


def ctc_probability_by_enumeration(probabilities: np.ndarray, label: list[int]) -> float:
    """P(label | frames) from the definition: the sum, over every path of one class per frame
    that collapses to ``label`` (merge repeats, then drop blanks, class 0), of its probability."""
    total = 0.0
    for path in itertools.product(range(probabilities.shape[1]), repeat=len(probabilities)):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != 0] == label:
            total += float(np.prod(probabilities[np.arange(len(path)), path]))
    return total


@pytest.mark.parametrize("label", [[1, 2], [2, 2], [1]])
def test_ctc_loss_behind_the_blanks_is_minus_log_the_sum_over_alignments(label):
    # Four real frames of three classes (blank, two digits), then two padded frames that
    # BlankAfterTheEnd turns into certain blanks: the loss must be that of the four frames alone.
    logits = np.random.default_rng(len(label) + label[0]).normal(size=(1, 6, 3)).astype("float32")
    mask = np.array([[True] * 4 + [False] * 2])
    behind = np.asarray(BlankAfterTheEnd()(logits, mask=mask))
    padded_label = np.array([[*label, 0, 0][:3]])
    loss = float(np.asarray(ctc_loss(padded_label, behind))[0])
    real = np.exp(logits[0, :4]) / np.exp(logits[0, :4]).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.log(ctc_probability_by_enumeration(real, label)), rel=1e-4)
