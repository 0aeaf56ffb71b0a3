"""Tests for utils.diagrams: the LSTM and GRU cell diagrams hold every element of the equations."""

import ast
import itertools
from collections import Counter
from pathlib import Path as FilePath

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch
from matplotlib.path import Path

from utils import diagrams
from utils.diagrams import draw_gru_cell, draw_lstm_cell

LSTM_LABELS = {
    "$C_{t-1}$",
    "$C_t$",
    "$h_{t-1}$",
    "$h_t$",
    "$x_t$",
    "$f_t$",
    "$i_t$",
    r"$\tilde{C}_t$",
    "$o_t$",
}
GRU_LABELS = {"$z_t$", "$r_t$", r"$\tilde{h}_t$", "$h_{t-1}$", "$h_t$", "$x_t$", "1−"}
# What each drawing must hold: its function, labels, layer boxes and the gid of the state that
# runs straight along the top.
CELLS = {
    "lstm": {"draw": draw_lstm_cell, "labels": LSTM_LABELS, "sigmas": 3, "belt": "cell_state"},
    "gru": {"draw": draw_gru_cell, "labels": GRU_LABELS, "sigmas": 2, "belt": "hidden_state"},
}


@pytest.fixture(params=sorted(CELLS))
def drawn(request):
    """(expectations, figure, axes) for each cell's drawing; the figure is closed afterwards."""
    cell = CELLS[request.param]
    figure = cell["draw"]()
    yield cell, figure, figure.axes[0]
    plt.close(figure)


def _texts(ax):
    return [text.get_text() for text in ax.texts]


def _gids(ax):
    return Counter(patch.get_gid() for patch in ax.patches)


def _data_bbox(patch):
    """A box or node's extent in data coordinates."""
    return patch.get_patch_transform().transform_path(patch.get_path()).get_extents()


def _patches(ax, gid):
    return [patch for patch in ax.patches if patch.get_gid() == gid]


def test_each_drawing_is_one_frameless_equal_aspect_figure_with_a_legend(drawn):
    _, figure, ax = drawn
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 1
    assert ax.get_aspect() == 1.0
    assert not ax.axison
    assert ax.get_legend() is not None
    width, height = figure.get_size_inches()
    assert 8 <= width <= 10 and 4 <= height <= 6


def test_every_symbol_of_the_equations_is_labelled(drawn):
    cell, _, ax = drawn
    assert cell["labels"] <= set(_texts(ax))
    # h_t leaves twice: to the next step (right) and to the layer above (up).
    assert _texts(ax).count("$h_t$") == 2


def test_layer_boxes_match_the_gates(drawn):
    cell, _, ax = drawn
    gids = _gids(ax)
    assert gids["layer:sigma"] == cell["sigmas"]
    assert gids["layer:tanh"] == 1  # the candidate, C̃_t or h̃_t
    assert _texts(ax).count(r"$\sigma$") == cell["sigmas"]
    # The LSTM's tanh(C_t) is pointwise (no weights): a separate kind of shape, not a layer.
    assert _texts(ax).count(r"$\tanh$") == 1 + gids["op:tanh"]


def test_lstm_pointwise_operations():
    figure = draw_lstm_cell()
    ax = figure.axes[0]
    gids = _gids(ax)
    # f_t ⊙ C_{t-1}, i_t ⊙ C̃_t and o_t ⊙ tanh(C_t); one sum; tanh(C_t).
    assert (gids["op:mul"], gids["op:add"], gids["op:tanh"], gids["op:one_minus"]) == (3, 1, 1, 0)
    assert all(isinstance(node, Circle) for node in _patches(ax, "op:mul"))
    assert _texts(ax).count("×") == 3
    assert _texts(ax).count("+") == 1
    plt.close(figure)


def test_gru_pointwise_operations():
    figure = draw_gru_cell()
    ax = figure.axes[0]
    gids = _gids(ax)
    # (1 − z_t) ⊙ h_{t-1}, r_t ⊙ h_{t-1} and z_t ⊙ h̃_t; one sum; the "1−" node.
    assert (gids["op:mul"], gids["op:add"], gids["op:tanh"], gids["op:one_minus"]) == (3, 1, 0, 1)
    assert _texts(ax).count("×") == 3
    assert _texts(ax).count("+") == 1
    plt.close(figure)


def test_the_state_runs_straight_along_the_top_through_a_product_then_a_sum(drawn):
    cell, _, ax = drawn
    belt = [patch for patch in _patches(ax, cell["belt"]) if patch.get_linewidth() > 3]
    assert len(belt) >= 3
    heights = {y for patch in belt for _, y in patch.get_path().vertices[:1]}
    assert len(heights) == 1
    (belt_y,) = heights
    on_belt = [node for node in ax.patches if node.get_gid() in ("op:mul", "op:add")]
    on_belt = sorted(
        (node for node in on_belt if node.center[1] == pytest.approx(belt_y)),
        key=lambda node: node.center[0],
    )
    assert [node.get_gid() for node in on_belt] == ["op:mul", "op:add"]
    # Nothing is drawn above the belt inside the cell except the upward output.
    nodes = [patch for patch in ax.patches if str(patch.get_gid()).startswith(("op:", "layer:"))]
    assert all(_data_bbox(node).y1 <= belt_y + 0.3 for node in nodes)


def test_lstm_cell_state_is_thicker_than_and_coloured_apart_from_the_hidden_state():
    figure = draw_lstm_cell()
    ax = figure.axes[0]
    cell, hidden = _patches(ax, "cell_state"), _patches(ax, "hidden_state")
    assert len(cell) == 3  # C_{t-1} → ⊙, ⊙ → +, + → C_t
    assert hidden
    assert min(p.get_linewidth() for p in cell) > max(p.get_linewidth() for p in hidden)
    assert {tuple(p.get_edgecolor()) for p in cell}.isdisjoint(
        tuple(p.get_edgecolor()) for p in hidden
    )
    plt.close(figure)


def test_arrows_stop_at_borders_instead_of_running_into_shapes(drawn):
    _, figure, ax = drawn
    figure.canvas.draw()
    shapes = [patch for patch in ax.patches if str(patch.get_gid()).startswith(("op:", "layer:"))]
    arrows = [patch for patch in ax.patches if isinstance(patch, FancyArrowPatch)]
    assert len(arrows) > 15
    tolerance = 0.03  # data units; nodes have a radius of about 0.28
    for arrow, shape in itertools.product(arrows, shapes):
        box = _data_bbox(shape)
        path = arrow.get_path()
        for (x, y), code in zip(path.vertices, path.codes, strict=True):
            if code == Path.CLOSEPOLY:  # its vertex is ignored
                continue
            inside = box.x0 + tolerance < x < box.x1 - tolerance
            inside &= box.y0 + tolerance < y < box.y1 - tolerance
            assert not inside, f"{arrow.get_gid()} arrow runs into {shape.get_gid()}"


def test_no_two_labels_overlap_and_all_fit_in_the_figure(drawn):
    _, figure, ax = drawn
    renderer = figure.canvas.get_renderer()
    figure.canvas.draw()
    texts = [*ax.texts, ax.title]
    extents = [text.get_window_extent(renderer) for text in texts]
    for (a, box_a), (b, box_b) in itertools.combinations(zip(texts, extents, strict=True), 2):
        assert not box_a.overlaps(box_b), f"{a.get_text()!r} overlaps {b.get_text()!r}"
    legend = ax.get_legend().get_window_extent(renderer)
    assert not any(legend.overlaps(box) for box in extents)
    assert all(figure.bbox.contains(box.x0, box.y0) for box in [*extents, legend])
    assert all(figure.bbox.contains(box.x1, box.y1) for box in [*extents, legend])


def test_titles_say_what_the_figure_shows():
    lstm, gru = draw_lstm_cell(), draw_gru_cell()
    assert "conveyor belt" in lstm.axes[0].get_title()
    assert "$C_t$" in lstm.axes[0].get_title()
    gru_title = gru.axes[0].get_title()
    assert all(symbol in gru_title for symbol in ("$h_t$", "$z_t$", "$r_t$"))
    plt.close(lstm)
    plt.close(gru)


@pytest.mark.parametrize("draw", [draw_lstm_cell, draw_gru_cell])
def test_an_existing_axes_is_drawn_on_and_its_figure_returned(draw):
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 4))
    open_figures = plt.get_fignums()
    assert draw(right) is figure
    assert plt.get_fignums() == open_figures  # no figure of its own
    assert not left.patches and not left.texts
    assert right.patches and "$h_t$" in _texts(right)
    plt.close(figure)


def test_the_module_only_draws():
    tree = ast.parse(FilePath(diagrams.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert roots <= {"__future__", "collections", "dataclasses", "matplotlib", "numpy"}
