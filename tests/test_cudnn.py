"""Tests for utils.cudnn, and a repository check: the notebooks' LSTM and GRU layers are cuDNN-fast.

The notebook check reads every notebook's code cells with ``ast``, finds each
``LSTM(...)`` / ``GRU(...)`` constructor call, rebuilds the layer from the call's literal
keyword arguments and asserts that ``check_cudnn`` accepts it, unless the line carries a
``# not cuDNN: <reason>`` comment.
"""

import ast
import importlib
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils.cudnn import check_cudnn, check_cudnn_mask

# Keras's TensorFlow RNN backend module, whose private rules check_cudnn must agree with (the
# package re-exports a function of the same name, `rnn`, so the module is imported by path).
tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")
ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


# --- check_cudnn, rule by rule ------------------------------------------------------------------


@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, keras.layers.GRU])
def test_default_lstm_and_gru_are_eligible(layer_class):
    assert check_cudnn(layer_class(8)) == (True, [])


@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, keras.layers.GRU])
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"activation": "relu"}, "activation is relu, cuDNN needs tanh"),
        ({"recurrent_activation": "hard_sigmoid"}, "recurrent_activation is hard_sigmoid"),
        ({"recurrent_dropout": 0.2}, "recurrent_dropout=0.2"),
        ({"unroll": True}, "unroll=True"),
        ({"use_bias": False}, "use_bias=False"),
        ({"use_cudnn": False}, "use_cudnn=False"),
    ],
)
def test_each_rule_is_reported(layer_class, kwargs, expected):
    eligible, reasons = check_cudnn(layer_class(8, **kwargs))
    assert not eligible
    assert len(reasons) == 1 and expected in reasons[0], reasons


def test_gru_reset_after_false_is_reported_and_lstm_has_no_such_rule():
    eligible, reasons = check_cudnn(keras.layers.GRU(8, reset_after=False))
    assert not eligible and reasons == ["reset_after=False (the cuDNN GRU needs reset_after=True)"]


def test_every_broken_rule_is_listed_at_once():
    layer = keras.layers.GRU(
        8,
        activation="relu",
        recurrent_activation="tanh",
        recurrent_dropout=0.1,
        unroll=True,
        use_bias=False,
        reset_after=False,
        use_cudnn=False,
    )
    eligible, reasons = check_cudnn(layer)
    assert not eligible and len(reasons) == 7


def test_input_dropout_and_use_cudnn_true_keep_the_kernel():
    # LSTM.inner_loop applies input dropout to the sequence before calling the kernel.
    assert check_cudnn(keras.layers.LSTM(8, dropout=0.5, use_cudnn=True)).eligible
    assert check_cudnn(keras.layers.GRU(8, dropout=0.5, go_backwards=True)).eligible


def test_tanh_and_sigmoid_from_tf_and_ops_count_but_a_wrapper_does_not():
    assert check_cudnn(keras.layers.LSTM(8, activation=tf.tanh, recurrent_activation=tf.sigmoid))[0]
    assert check_cudnn(keras.layers.GRU(8, activation=keras.ops.tanh))[0]
    eligible, reasons = check_cudnn(keras.layers.LSTM(8, activation=lambda x: keras.ops.tanh(x)))
    assert not eligible and "activation is <lambda>" in reasons[0]


@pytest.mark.parametrize(
    "layer",
    [
        keras.layers.SimpleRNN(8),
        keras.layers.RNN(keras.layers.LSTMCell(8)),
        keras.layers.RNN(keras.layers.GRUCell(8)),
    ],
    ids=["SimpleRNN", "RNN(LSTMCell)", "RNN(GRUCell)"],
)
def test_layers_without_a_cudnn_kernel(layer):
    eligible, reasons = check_cudnn(layer)
    assert not eligible
    assert reasons == [
        f"{type(layer).__name__} (cell {type(layer.cell).__name__}) has no cuDNN kernel: only "
        "the keras.layers.LSTM and keras.layers.GRU layer classes have one"
    ]


def test_bidirectional_checks_both_directions():
    assert check_cudnn(keras.layers.Bidirectional(keras.layers.LSTM(8))) == (True, [])
    both = check_cudnn(keras.layers.Bidirectional(keras.layers.GRU(8, recurrent_dropout=0.1)))
    assert both == (
        False,
        ["both directions: recurrent_dropout=0.1 (cuDNN needs 0; input dropout is fine)"],
    )
    one = check_cudnn(
        keras.layers.Bidirectional(
            keras.layers.LSTM(8),
            backward_layer=keras.layers.LSTM(8, unroll=True, go_backwards=True),
        )
    )
    assert one == (False, ["backward layer: unroll=True (cuDNN needs unroll=False)"])


@pytest.mark.parametrize("layer", [keras.layers.Dense(3), keras.layers.LSTMCell(3)])
def test_a_layer_that_is_not_recurrent_is_a_clear_error(layer):
    with pytest.raises(ValueError, match="expects a recurrent layer"):
        check_cudnn(layer)


@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, keras.layers.GRU])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid"])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("unroll", [False, True])
def test_agrees_with_keras_own_argument_check(
    layer_class, activation, recurrent_activation, use_bias, unroll
):
    # The configuration rules that Keras's TensorFlow backend checks before it calls cuDNN.
    layer = layer_class(
        4,
        activation=activation,
        recurrent_activation=recurrent_activation,
        use_bias=use_bias,
        unroll=unroll,
    )
    cell = layer.cell
    args = (cell.activation, cell.recurrent_activation, unroll, use_bias)
    if layer_class is keras.layers.GRU:
        keras_says = tf_rnn._do_gru_arguments_support_cudnn(*args, reset_after=True)
    else:
        keras_says = tf_rnn._do_lstm_arguments_support_cudnn(*args)
    assert check_cudnn(layer).eligible == bool(keras_says)


def test_use_cudnn_true_on_an_ineligible_layer_is_what_keras_refuses():
    # Keras raises at call time for use_cudnn=True when cuDNN is not used (here: no GPU, or
    # recurrent dropout); check_cudnn flags the configuration part of that before any call.
    layer = keras.layers.LSTM(4, recurrent_dropout=0.1, use_cudnn=True)
    assert not check_cudnn(layer).eligible
    with pytest.raises(ValueError, match="use_cudnn=True was specified"):
        layer(np.zeros((1, 3, 2), "float32"))


# --- check_cudnn_mask ---------------------------------------------------------------------------


def test_right_padded_mask_from_an_embedding_is_valid():
    ids = np.array([[5, 3, 0, 0], [7, 2, 9, 1]])
    mask = keras.layers.Embedding(10, 2, mask_zero=True).compute_mask(ids)
    assert check_cudnn_mask(mask) == (True, [])


def test_left_padded_gapped_and_empty_rows_are_reported():
    mask = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [0, 0, 0, 0]], dtype=bool)
    ok, reasons = check_cudnn_mask(mask)
    assert not ok
    assert reasons[0].startswith("rows [1, 2] are not strictly right-padded")
    assert reasons[1] == "rows [3] are fully masked (no real step)"


def test_mask_check_agrees_with_keras_right_padding_check():
    rng = np.random.default_rng(0)
    for _ in range(50):
        mask = rng.random((3, 5)) < 0.6
        keras_says = bool(tf_rnn._is_sequence_right_padded(tf.constant(mask)))
        keras_says &= not bool(tf_rnn._has_fully_masked_sequence(tf.constant(mask)))
        assert check_cudnn_mask(mask).eligible == keras_says


def test_mask_of_the_wrong_rank_is_a_clear_error():
    with pytest.raises(ValueError, match=r"shape \(batch, timesteps\)"):
        check_cudnn_mask(np.ones(4, dtype=bool))


# --- the notebooks' LSTM and GRU layers ---------------------------------------------------------

OPT_OUT = re.compile(r"#\s*not cuDNN:\s*\S")
RECURRENT_CLASSES = {"LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}
# Only these arguments decide cuDNN eligibility; the others (units, return_sequences, name...)
# are ignored, so `LSTM(UNITS, return_sequences=True)` can still be checked.
RULE_ARGUMENTS = {
    "activation",
    "recurrent_activation",
    "recurrent_dropout",
    "unroll",
    "use_bias",
    "reset_after",
    "use_cudnn",
}


def recurrent_calls(source: str) -> list[tuple[int, str, dict | None, bool]]:
    """``(line, class name, rule kwargs or None when not literal, opted out)`` per call."""
    # IPython magics and shell escapes are not Python: blank them, keeping line numbers.
    lines = source.splitlines()
    python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
    found = []
    for node in ast.walk(ast.parse(python)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in RECURRENT_CLASSES:
            continue
        opted_out = any(OPT_OUT.search(line) for line in lines[node.lineno - 1 : node.end_lineno])
        kwargs: dict | None = {}
        for keyword in node.keywords:
            if keyword.arg is None:  # **kwargs: cannot tell what it holds
                kwargs = None
                break
            if keyword.arg in RULE_ARGUMENTS:
                try:
                    kwargs[keyword.arg] = ast.literal_eval(keyword.value)
                except ValueError:
                    kwargs = None
                    break
        found.append((node.lineno, name, kwargs, opted_out))
    return found


def offending_calls(source: str) -> list[str]:
    """Calls that build a non-eligible LSTM/GRU without an opt-out comment, with the reasons."""
    problems = []
    for line, name, kwargs, opted_out in recurrent_calls(source):
        if kwargs is None or opted_out:
            continue
        eligible, reasons = check_cudnn(RECURRENT_CLASSES[name](4, **kwargs))
        if not eligible:
            problems.append(f"line {line}: {name}(...): {'; '.join(reasons)}")
    return problems


def test_notebook_scanner_finds_checks_and_honours_the_opt_out():
    source = (
        "%matplotlib inline\n"
        "a = keras.layers.LSTM(UNITS, return_sequences=True)\n"
        "b = keras.layers.GRU(8, reset_after=False)\n"
        "c = GRU(8, reset_after=False)  # not cuDNN: teaches the original GRU\n"
        "d = keras.layers.LSTM(\n    8,\n"
        "    recurrent_dropout=0.2,  # not cuDNN: measures its cost\n)\n"
        "e = keras.layers.LSTM(8, recurrent_dropout=RATE)\n"
        "f = keras.layers.LSTMCell(8, recurrent_dropout=0.2)\n"
        "g = keras.layers.Bidirectional(keras.layers.LSTM(8, unroll=True))\n"
    )
    calls = recurrent_calls(source)
    assert [(line, name) for line, name, _, _ in calls] == [
        (2, "LSTM"),
        (3, "GRU"),
        (4, "GRU"),
        (5, "LSTM"),
        (9, "LSTM"),
        (11, "LSTM"),
    ]
    assert calls[4][2] is None  # non-literal rule argument: skipped, not guessed
    assert offending_calls(source) == [
        "line 3: GRU(...): reset_after=False (the cuDNN GRU needs reset_after=True)",
        "line 11: LSTM(...): unroll=True (cuDNN needs unroll=False)",
    ]


def _cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def test_the_notebooks_build_lstm_and_gru_layers_to_check():
    assert sum(len(recurrent_calls(s)) for path in NOTEBOOKS for s in _cells(path)) > 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_lstm_and_gru_layers_are_cudnn_eligible_or_say_why_not(path):
    problems = [
        f"code cell {index}, {problem}"
        for index, source in enumerate(_cells(path), start=1)
        for problem in offending_calls(source)
    ]
    assert not problems, (
        f"{path.name} builds LSTM/GRU layers that cannot use cuDNN; make them eligible or add "
        "`# not cuDNN: <reason>` on the call's line:\n" + "\n".join(problems)
    )
