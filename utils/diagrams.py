"""The LSTM and GRU cells drawn as diagrams, in the lecture's symbols. This module only draws.

The figures follow the style of colah's "Understanding LSTM Networks": yellow boxes are layers
with learned weights (``σ`` or ``tanh``), pink circles are pointwise operations (``×`` is the
element-wise product ``⊙``, ``+`` the element-wise sum). Every line carries a vector; lines that
merge are concatenated, lines that fork are copied.

Each drawn element carries a ``gid`` so that tests, and curious readers, can find it again with
``patch.get_gid()``: ``"layer:sigma"`` and ``"layer:tanh"`` for the layers; ``"op:mul"``,
``"op:add"``, ``"op:one_minus"`` and ``"op:tanh"`` for the pointwise operations; and for lines
``"cell_state"`` (the LSTM's belt), ``"hidden_state"``, ``"input"``, ``"concat"`` and ``"gate"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path

_Point = tuple[float, float]

_CELL_STATE = "#d9480f"
_HIDDEN_STATE = "#1c6fb8"
_INPUT = "#2b8a3e"
_GATE = "#495057"
_LAYER_FACE, _LAYER_EDGE = "#ffe8a3", "#b08900"
_OP_FACE, _OP_EDGE = "#fbd3dc", "#b0506a"
_CELL_FACE, _CELL_EDGE = "#f4f6f8", "#adb5bd"

_BELT_WIDTH = 3.6  # the state that runs straight through the cell: the visually dominant line
_LINE_WIDTH = 1.6  # every other line
_LABEL_SIZE = 13
_NODE_RADIUS = 0.28
_LAYER_SIZE = (0.95, 0.62)
_FIGSIZE = (9.0, 5.2)


@dataclass(frozen=True)
class _Shape:
    """Where a drawn box or node sits, so that arrows can start and stop at its border."""

    x: float
    y: float
    half_width: float
    half_height: float

    def border(self, toward: _Point) -> _Point:
        """The point on this shape's edge facing ``toward`` (lines here are axis-aligned)."""
        dx, dy = toward[0] - self.x, toward[1] - self.y
        if abs(dx) >= abs(dy):
            return (self.x + (self.half_width if dx > 0 else -self.half_width), self.y)
        return (self.x, self.y + (self.half_height if dy > 0 else -self.half_height))


def _axes(ax: Axes | None) -> Axes:
    """The axes to draw on: the caller's, or those of a new figure of a readable size."""
    if ax is None:
        _, ax = plt.subplots(figsize=_FIGSIZE, layout="constrained")
    return ax


def _cell(ax: Axes, x0: float, y0: float, x1: float, y1: float) -> None:
    """The cell's outline: everything inside it happens within one time step."""
    ax.add_patch(
        FancyBboxPatch(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            boxstyle="round,pad=0,rounding_size=0.35",
            facecolor=_CELL_FACE,
            edgecolor=_CELL_EDGE,
            linewidth=1.2,
            zorder=0,
            gid="cell",
        )
    )


def _layer(ax: Axes, x: float, y: float, activation: str) -> _Shape:
    """A layer with learned weights, ``activation(W·[...] + b)``, as a yellow box."""
    width, height = _LAYER_SIZE
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=0.1",
            facecolor=_LAYER_FACE,
            edgecolor=_LAYER_EDGE,
            linewidth=1.3,
            zorder=3,
            gid=f"layer:{activation}",
        )
    )
    ax.text(x, y, rf"$\{activation}$", ha="center", va="center", fontsize=_LABEL_SIZE, zorder=4)
    return _Shape(x, y, width / 2, height / 2)


def _pointwise_tanh(ax: Axes, x: float, y: float) -> _Shape:
    """``tanh`` applied element-wise, with no weights: a pink pill, unlike the layer boxes."""
    width, height = 0.85, 0.44
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle=f"round,pad=0,rounding_size={height / 2}",
            facecolor=_OP_FACE,
            edgecolor=_OP_EDGE,
            linewidth=1.3,
            zorder=3,
            gid="op:tanh",
        )
    )
    ax.text(x, y, r"$\tanh$", ha="center", va="center", fontsize=_LABEL_SIZE - 2, zorder=4)
    return _Shape(x, y, width / 2, height / 2)


def _node(ax: Axes, x: float, y: float, operation: str) -> _Shape:
    """A pointwise operation as a pink circle: ``mul`` (⊙, drawn ×), ``add`` or ``one_minus``."""
    symbol = {"mul": "×", "add": "+", "one_minus": "1−"}[operation]
    ax.add_patch(
        Circle(
            (x, y),
            _NODE_RADIUS,
            facecolor=_OP_FACE,
            edgecolor=_OP_EDGE,
            linewidth=1.3,
            zorder=3,
            gid=f"op:{operation}",
        )
    )
    size = _LABEL_SIZE - 3 if operation == "one_minus" else _LABEL_SIZE + 1
    ax.text(x, y, symbol, ha="center", va="center", fontsize=size, zorder=4)
    return _Shape(x, y, _NODE_RADIUS, _NODE_RADIUS)


def _junction(ax: Axes, point: _Point, colour: str) -> None:
    """A dot where a line forks (its value is copied) or where two lines are concatenated."""
    ax.add_patch(Circle(point, 0.07, color=colour, zorder=5, gid="junction"))


def _line(
    ax: Axes,
    points: Sequence[_Point],
    *,
    colour: str,
    gid: str,
    width: float = _LINE_WIDTH,
    start: _Shape | None = None,
    end: _Shape | None = None,
    head: bool = True,
    over: bool = False,
) -> None:
    """A polyline through ``points``, with an arrowhead at the end unless ``head`` is False.

    ``start`` and ``end`` clip the first and last points to those shapes' borders, so arrows
    touch boxes and nodes instead of running to their centres. ``over`` draws the line above
    the others, for the crossings that ``_bridge`` cuts a gap under.
    """
    vertices = list(points)
    if start is not None:
        vertices[0] = start.border(vertices[1])
    if end is not None:
        vertices[-1] = end.border(vertices[-2])
    codes = [Path.MOVETO] + [Path.LINETO] * (len(vertices) - 1)
    ax.add_patch(
        FancyArrowPatch(
            path=Path(vertices, codes),
            arrowstyle="-|>" if head else "-",
            mutation_scale=10 + 2.5 * width,
            color=colour,
            linewidth=width,
            joinstyle="miter",
            capstyle="butt",
            zorder=2.5 if over else 2,
            gid=gid,
        )
    )


def _bridge(ax: Axes, point: _Point, *, vertical: bool, gap: float = 0.2) -> None:
    """Cut a gap in the (thin) line under a crossing, so it reads as a bridge, not a junction.

    ``vertical`` is the direction of the line that passes underneath at ``point``.
    """
    x, y = point
    xs, ys = ([x, x], [y - gap, y + gap]) if vertical else ([x - gap, x + gap], [y, y])
    ax.plot(xs, ys, color=_CELL_FACE, linewidth=_LINE_WIDTH + 3, zorder=2.2, gid="bridge")


def _label(ax: Axes, point: _Point, text: str, **style: str) -> None:
    """A mathtext label, centred on ``point`` unless ``style`` says otherwise (``ha``, ``va``)."""
    style = {"ha": "center", "va": "center", "fontsize": _LABEL_SIZE, **style}
    ax.text(*point, text, zorder=4, **style)


def _finish(
    ax: Axes, title: str, limits: tuple[float, float, float, float], lines: Sequence[Line2D]
) -> Figure:
    """Equal aspect, no frame, the title and a legend of ``lines`` and the two kinds of shape.

    Returns the figure drawn on, which is the caller's when they passed their own axes.
    """
    x0, x1, y0, y1 = limits
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    shapes = [
        Patch(facecolor=_LAYER_FACE, edgecolor=_LAYER_EDGE, label="layer (learned weights)"),
        Patch(facecolor=_OP_FACE, edgecolor=_OP_EDGE, label="pointwise (× is ⊙)"),
    ]
    ax.legend(handles=[*lines, *shapes], loc="lower right", ncol=3, fontsize=8, frameon=False)
    return ax.get_figure(root=True)


def draw_lstm_cell(ax: Axes | None = None) -> Figure:
    """Draw one LSTM cell, the lecture's equations made visible.

    The cell state runs straight along the top, ``C_{t-1} → ⊙ f_t → + i_t ⊙ C̃_t → C_t``: this
    "conveyor belt" is touched only by a product and a sum, which is why gradients can flow
    along it for many steps. Below it, ``[h_{t-1}, x_t]`` feeds the four layers
    ``f_t = σ(W_f·[h_{t-1}, x_t] + b_f)``, ``i_t = σ(...)``, ``C̃_t = tanh(...)`` and
    ``o_t = σ(...)``; ``h_t = o_t ⊙ tanh(C_t)`` leaves to the right (the next step) and upwards
    (the output).

    Args:
        ax: the axes to draw on; when None, a new figure of about 9x5 inches is made.

    Returns:
        The figure that holds the drawing.
    """
    ax = _axes(ax)
    belt_y, bus_y, gate_y, mix_y, squash_y = 5.8, 0.8, 2.2, 3.9, 4.85
    x_in, f_x, i_x, c_x, o_x, out_x, up_x, x_out = 0.8, 1.8, 3.4, 5.0, 7.0, 8.8, 10.2, 12.6
    _cell(ax, 0.0, 0.0, 11.2, 6.6)

    # The cell state: C_{t-1} → ⊙ f_t → + (i_t ⊙ C̃_t) → C_t, drawn thick and over other lines.
    forget = _node(ax, f_x, belt_y, "mul")
    add = _node(ax, c_x, belt_y, "add")
    belt = {"colour": _CELL_STATE, "gid": "cell_state", "width": _BELT_WIDTH, "over": True}
    _line(ax, [(-1.2, belt_y), (f_x, belt_y)], end=forget, **belt)
    _line(ax, [(f_x, belt_y), (c_x, belt_y)], start=forget, end=add, **belt)
    _line(ax, [(c_x, belt_y), (x_out, belt_y)], start=add, **belt)
    _label(ax, (-1.35, belt_y), "$C_{t-1}$", ha="right")
    _label(ax, (x_out + 0.15, belt_y), "$C_t$", ha="left")

    # h_{t-1} from the left and x_t from below are concatenated into one bus to the four layers.
    _line(ax, [(-1.2, bus_y), (x_in, bus_y)], colour=_HIDDEN_STATE, gid="hidden_state", head=False)
    _line(ax, [(x_in, -0.8), (x_in, bus_y)], colour=_INPUT, gid="input", head=False)
    _line(ax, [(x_in, bus_y), (o_x, bus_y)], colour=_GATE, gid="concat", head=False)
    _junction(ax, (x_in, bus_y), _GATE)
    _label(ax, (-1.35, bus_y), "$h_{t-1}$", ha="right")
    _label(ax, (x_in, -0.9), "$x_t$", va="top")
    _label(ax, ((f_x + i_x) / 2, bus_y - 0.2), "$[h_{t-1}, x_t]$", va="top")
    layers = {}
    for name, x, activation in [("f", f_x, "sigma"), ("i", i_x, "sigma"), ("C", c_x, "tanh")]:
        _junction(ax, (x, bus_y), _GATE)
        layers[name] = _layer(ax, x, gate_y, activation)
        _line(ax, [(x, bus_y), (x, gate_y)], end=layers[name], colour=_GATE, gid="concat")
    layers["o"] = _layer(ax, o_x, gate_y, "sigma")
    _line(ax, [(o_x, bus_y), (o_x, gate_y)], end=layers["o"], colour=_GATE, gid="concat")

    # The forget gate scales the belt; the input gate times the candidate is added to it.
    gate = {"colour": _GATE, "gid": "gate"}
    _line(ax, [(f_x, gate_y), (f_x, belt_y)], start=layers["f"], end=forget, **gate)
    _label(ax, (f_x + 0.15, 4.3), "$f_t$", ha="left")
    scale = _node(ax, c_x, mix_y, "mul")
    _line(ax, [(i_x, gate_y), (i_x, mix_y), (c_x, mix_y)], start=layers["i"], end=scale, **gate)
    _label(ax, (i_x - 0.15, 3.2), "$i_t$", ha="right")
    _line(ax, [(c_x, gate_y), (c_x, mix_y)], start=layers["C"], end=scale, **gate)
    _label(ax, (c_x + 0.15, 3.1), r"$\tilde{C}_t$", ha="left")
    _line(ax, [(c_x, mix_y), (c_x, belt_y)], start=scale, end=add, **gate)

    # The output: h_t = o_t ⊙ tanh(C_t), to the next step (right) and to the layer above (up).
    squash = _pointwise_tanh(ax, out_x, squash_y)
    output = _node(ax, out_x, mix_y, "mul")
    _junction(ax, (out_x, belt_y), _CELL_STATE)
    _line(ax, [(out_x, belt_y), (out_x, squash_y)], end=squash, colour=_CELL_STATE, gid="cell_read")
    _line(ax, [(out_x, squash_y), (out_x, mix_y)], start=squash, end=output, **gate)
    _line(ax, [(o_x, gate_y), (o_x, mix_y), (out_x, mix_y)], start=layers["o"], end=output, **gate)
    _label(ax, (o_x + 0.15, 3.1), "$o_t$", ha="left")
    hidden = {"colour": _HIDDEN_STATE, "gid": "hidden_state"}
    _line(ax, [(out_x, mix_y), (out_x, bus_y), (x_out, bus_y)], start=output, **hidden)
    _line(ax, [(up_x, bus_y), (up_x, 7.4)], **hidden)
    _bridge(ax, (up_x, belt_y), vertical=True)
    _junction(ax, (up_x, bus_y), _HIDDEN_STATE)
    _label(ax, (x_out + 0.15, bus_y), "$h_t$", ha="left")
    _label(ax, (up_x, 7.5), "$h_t$", va="bottom")

    legend = [
        Line2D([], [], color=_CELL_STATE, lw=_BELT_WIDTH, label="cell state $C$"),
        Line2D([], [], color=_HIDDEN_STATE, lw=_LINE_WIDTH, label="hidden state $h$"),
        Line2D([], [], color=_INPUT, lw=_LINE_WIDTH, label="input $x_t$"),
        Line2D([], [], color=_GATE, lw=_LINE_WIDTH, label="gates, $[h_{t-1}, x_t]$"),
    ]
    title = "LSTM cell: the cell state $C_t$ is a conveyor belt changed only by ⊙ and +"
    return _finish(ax, title, (-2.1, x_out + 1.0, -1.9, 8.1), legend)


def draw_gru_cell(ax: Axes | None = None) -> Figure:
    """Draw one GRU cell with the lecture's convention, ``h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t``.

    The GRU keeps a single state: ``h_{t-1}`` runs along the top through a product with
    ``1 − z_t`` and a sum with ``z_t ⊙ h̃_t``, so the update gate ``z_t`` interpolates between
    keeping the old state and taking the candidate. The reset gate ``r_t`` decides how much of
    ``h_{t-1}`` the candidate ``h̃_t = tanh(W·[r_t ⊙ h_{t-1}, x_t])`` gets to see. (Keras, like
    some texts, swaps the roles of ``z_t`` and ``1 − z_t``; the cell is the same.)

    Args:
        ax: the axes to draw on; when None, a new figure of about 9x5 inches is made.

    Returns:
        The figure that holds the drawing.
    """
    ax = _axes(ax)
    belt_y, bus_y, gate_y, reset_y, fork_y, flip_y = 6.0, 1.0, 2.2, 3.4, 4.3, 5.1
    down_x, x_in, r_x, z_x, join_x = 0.5, 1.1, 2.0, 3.6, 5.4
    x_join, h_x, up_x, x_out = 6.1, 7.0, 9.0, 11.0
    _cell(ax, 0.0, 0.0, 10.0, 6.8)

    # The state: h_{t-1} → ⊙ (1 − z_t) → + (z_t ⊙ h̃_t) → h_t, drawn thick.
    keep = _node(ax, z_x, belt_y, "mul")
    add = _node(ax, h_x, belt_y, "add")
    belt = {"colour": _HIDDEN_STATE, "gid": "hidden_state", "width": _BELT_WIDTH}
    _line(ax, [(-1.2, belt_y), (z_x, belt_y)], end=keep, **belt)
    _line(ax, [(z_x, belt_y), (h_x, belt_y)], start=keep, end=add, **belt)
    _line(ax, [(h_x, belt_y), (x_out, belt_y)], start=add, **belt)
    _line(ax, [(up_x, belt_y), (up_x, 7.6)], **belt)
    _junction(ax, (up_x, belt_y), _HIDDEN_STATE)
    _label(ax, (-1.35, belt_y), "$h_{t-1}$", ha="right")
    _label(ax, (x_out + 0.15, belt_y), "$h_t$", ha="left")
    _label(ax, (up_x, 7.7), "$h_t$", va="bottom")

    # h_{t-1} is copied down: concatenated with x_t for both gates, and scaled by r_t.
    hidden = {"colour": _HIDDEN_STATE, "gid": "hidden_state_read"}
    _line(ax, [(down_x, belt_y), (down_x, bus_y), (x_in, bus_y)], head=False, **hidden)
    _line(ax, [(x_in, -0.8), (x_in, bus_y)], colour=_INPUT, gid="input", head=False)
    _line(ax, [(x_in, bus_y), (z_x, bus_y)], colour=_GATE, gid="concat", head=False)
    _label(ax, (x_in, -0.9), "$x_t$", va="top")
    for point, colour in [((down_x, belt_y), _HIDDEN_STATE), ((x_in, bus_y), _GATE)]:
        _junction(ax, point, colour)
    reset_gate = _layer(ax, r_x, gate_y, "sigma")
    update_gate = _layer(ax, z_x, gate_y, "sigma")
    _junction(ax, (r_x, bus_y), _GATE)
    _line(ax, [(r_x, bus_y), (r_x, gate_y)], end=reset_gate, colour=_GATE, gid="concat")
    _line(ax, [(z_x, bus_y), (z_x, gate_y)], end=update_gate, colour=_GATE, gid="concat")
    _label(ax, ((x_in + z_x) / 2, bus_y - 0.2), "$[h_{t-1}, x_t]$", va="top")

    gate = {"colour": _GATE, "gid": "gate"}
    reset = _node(ax, r_x, reset_y, "mul")
    _line(ax, [(r_x, gate_y), (r_x, reset_y)], start=reset_gate, end=reset, **gate)
    _label(ax, (r_x + 0.15, 2.85), "$r_t$", ha="left")
    _junction(ax, (down_x, reset_y), _HIDDEN_STATE)
    _line(ax, [(down_x, reset_y), (r_x, reset_y)], end=reset, **hidden)

    # The candidate sees [r_t ⊙ h_{t-1}, x_t]; the r_t ⊙ h_{t-1} line bridges over z_t's.
    candidate = _layer(ax, h_x, gate_y, "tanh")
    path = [(r_x, reset_y), (join_x, reset_y), (join_x, bus_y), (h_x, bus_y), (h_x, gate_y)]
    _line(ax, path, start=reset, end=candidate, over=True, **gate)
    _bridge(ax, (z_x, reset_y), vertical=True, gap=0.15)
    _line(ax, [(x_in, 0.2), (x_join, 0.2), (x_join, bus_y)], colour=_INPUT, gid="input", head=False)
    for point, colour in [((x_in, 0.2), _INPUT), ((x_join, bus_y), _GATE)]:
        _junction(ax, point, colour)
    _label(ax, (h_x + 0.15, bus_y + 0.05), r"$[r_t \odot h_{t-1}, x_t]$", ha="left", va="bottom")

    # The update gate: 1 − z_t keeps the old state, z_t takes the candidate.
    flip = _node(ax, z_x, flip_y, "one_minus")
    take = _node(ax, h_x, fork_y, "mul")
    _line(ax, [(z_x, gate_y), (z_x, flip_y)], start=update_gate, end=flip, **gate)
    _line(ax, [(z_x, flip_y), (z_x, belt_y)], start=flip, end=keep, **gate)
    _junction(ax, (z_x, fork_y), _GATE)
    _line(ax, [(z_x, fork_y), (h_x, fork_y)], end=take, **gate)
    _label(ax, (z_x + 0.15, 2.85), "$z_t$", ha="left")
    _line(ax, [(h_x, gate_y), (h_x, fork_y)], start=candidate, end=take, **gate)
    _label(ax, (h_x + 0.15, 3.25), r"$\tilde{h}_t$", ha="left")
    _line(ax, [(h_x, fork_y), (h_x, belt_y)], start=take, end=add, **gate)

    legend = [
        Line2D([], [], color=_HIDDEN_STATE, lw=_BELT_WIDTH, label="hidden state $h$"),
        Line2D([], [], color=_INPUT, lw=_LINE_WIDTH, label="input $x_t$"),
        Line2D([], [], color=_GATE, lw=_LINE_WIDTH, label="gates, concatenations"),
    ]
    title = "GRU cell (lecture's convention): one state $h_t$, update gate $z_t$, reset gate $r_t$"
    return _finish(ax, title, (-2.1, x_out + 1.0, -1.9, 8.3), legend)
