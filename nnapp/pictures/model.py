"""Pictures of the trained model itself: decision regions and hidden units over a plane of two
features, first-layer weights as images."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from nnapp.pictures.base import (
    _class_colours,
    new_figure,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def confidence_image(proba: Any, colours: Sequence[Any]) -> Any:
    """RGB image of predicted probabilities (G, G, N_c): each cell in its predicted class's colour, from
    white where the model is at chance (max probability 1/N_c) to 60% of the colour where it is sure."""
    import numpy as np

    proba = np.asarray(proba, dtype=np.float64)
    n = proba.shape[-1]
    rgb = np.asarray([c[:3] for c in colours], dtype=np.float64)
    winner = proba.argmax(axis=-1)
    confidence = np.clip((proba.max(axis=-1) - 1.0 / n) / (1.0 - 1.0 / n), 0.0, 1.0)
    strength = 0.6 * confidence[..., None]
    return 1.0 - strength * (1.0 - rgb[winner])


def draw_regions(ax: Any, xx: Any, yy: Any, proba: Any, colours: Sequence[Any]) -> tuple[float, ...]:
    """The regions shaded by predicted probability (`confidence_image`) and the black boundary lines on
    `ax`; returns the extent (x0, x1, y0, y1). The decision-region picture and the animation share it."""
    import numpy as np

    n = proba.shape[-1]
    extent = (float(xx.min()), float(xx.max()), float(yy.min()), float(yy.max()))
    ax.imshow(
        confidence_image(proba, colours),
        origin="lower",
        extent=extent,
        aspect="auto",
        interpolation="bilinear",
    )
    # class k's region ends where p_k equals the largest other probability: a smooth zero level
    for k in range(n if n > 2 else 1):
        others = np.delete(proba, k, axis=-1).max(axis=-1)
        margin = proba[..., k] - others
        if margin.min() < 0 < margin.max():
            ax.contour(xx, yy, margin, levels=[0.0], colors="black", linewidths=1.2)
    return extent


def decision_boundary_figure(
    xx: Any,
    yy: Any,
    proba: Any,
    train: tuple[Any, Any],
    test: tuple[Any, Any, Any],
    classes: Sequence[str],
    feature_names: Sequence[str],
    title: str = "",
) -> Figure:
    """Predicted probabilities over two features (original units): the predicted class's colour, paler
    where the model is less sure, the boundary where two classes' probabilities are equal. Training
    points are small dots; test points larger diamonds, ringed in red where the model is wrong.

    `proba` is (G, G, N_c) on the grid `xx, yy`; `train` is (X, y); `test` is (X, y, predicted)."""
    import numpy as np

    proba = np.asarray(proba)
    n = len(classes)
    colours = _class_colours(n)
    fig = new_figure(7.6, 5.6)
    ax = fig.subplots()
    extent = draw_regions(ax, xx, yy, proba, colours)
    y_test, predicted, wrong = _scatter_points(ax, train, test, colours)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    accuracy = float(np.mean(predicted == y_test)) if len(y_test) else math.nan
    heading = title or "Decision regions"
    ax.set_title(
        f"{heading}\ntest accuracy {accuracy:.3f} "
        f"({len(y_test) - len(wrong)}/{len(y_test)} test points right)"
    )
    _decision_legend(ax, colours, classes)
    return fig


def _scatter_points(
    ax: Any, train: tuple[Any, Any], test: tuple[Any, Any, Any], colours: Sequence[Any]
) -> tuple[Any, Any, Any]:
    """Training points as small dots, test points as ringed diamonds, wrong test points circled in red.
    Returns the test labels, the predictions and the wrong test points."""
    import numpy as np

    n = len(colours)
    X_train, y_train = np.asarray(train[0]), np.asarray(train[1])
    X_test, y_test, predicted = (np.asarray(a) for a in test)
    for k in range(n):
        points = X_train[y_train == k]
        ax.scatter(
            points[:, 0], points[:, 1], s=9, color=colours[k], edgecolors="none", alpha=0.7, gid="train"
        )
        points = X_test[y_test == k]
        ax.scatter(
            points[:, 0],
            points[:, 1],
            s=34,
            marker="D",
            color=colours[k],
            edgecolors="black",
            linewidths=0.8,
            gid="test",
        )
    wrong = X_test[predicted != y_test]
    ax.scatter(
        wrong[:, 0], wrong[:, 1], s=130, facecolors="none", edgecolors="red", linewidths=1.6, gid="wrong"
    )
    return y_test, predicted, wrong


def _decision_legend(ax: Any, colours: Sequence[Any], classes: Sequence[str]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Patch(color=colours[k], label=str(c)) for k, c in enumerate(classes)]
    handles += [
        Line2D([], [], linestyle="none", marker="o", markersize=4, color="gray", label="train point"),
        Line2D(
            [],
            [],
            linestyle="none",
            marker="D",
            markersize=6,
            color="gray",
            markeredgecolor="black",
            label="test point",
        ),
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markersize=11,
            markerfacecolor="none",
            markeredgecolor="red",
            label="test point, wrong",
        ),
        Line2D([], [], color="black", linewidth=1.2, label="boundary"),
        Patch(facecolor="white", edgecolor="gray", label="pale: unsure\n(max p near 1/N_c)"),
    ]
    ax.legend(handles=handles, title="class", loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")


MAX_UNIT_PANELS = 64


def _panel_grid(count: int) -> tuple[int, int]:
    cols = max(1, math.ceil(math.sqrt(count)))
    return math.ceil(count / cols), cols


def _unit_panels(axes: Any, shown: int) -> Iterator[tuple[int, Any]]:
    """The grid's panels, without ticks: the first `shown` with their unit's index; the rest blanked."""
    for j, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if j < shown:
            yield j, ax
        else:
            ax.set_axis_off()


def _signed(value: float) -> str:
    return f"{value:+.1f}".replace("-", "−")


def hidden_units_figure(
    xx: Any,
    yy: Any,
    preactivations: Any,
    U: Any,
    classes: Sequence[str],
    feature_names: Sequence[str],
    title: str = "",
    points: tuple[Any, Any] | None = None,
) -> Figure:
    """One small map per hidden unit j (the first 64) of its activation h_j = relu(w_j·x + b1_j) over the
        plane (original units): grey where the unit is off (h_j = 0, no gradient flows through it), yellow
        to red where it is on, on one colour scale shared by all units, its hinge w_j·x + b1_j = 0 drawn.
        Each map is titled with the unit's outgoing weights U[:, j] (what one unit of h_j adds to each
        class's logit). `preactivations` (D_h, G, G): z_j = w_j·x + b1_j on the grid `xx, yy` (the hinge is
    its zero line, straight, where relu(z_j) alone would draw it in steps). `points` (X, y): the data,
    drawn faintly in class colours for orientation."""
    import numpy as np
    from matplotlib import colormaps

    z = np.asarray(preactivations)
    activations = np.maximum(z, 0.0)
    U = np.asarray(U)
    shown = min(len(activations), MAX_UNIT_PANELS)
    rows, cols = _panel_grid(shown)
    title_lines = 1 + math.ceil(U.shape[0] / 4)  # "unit j", then the weights four to a line
    cell = 1.45 + 0.12 * title_lines  # inches per panel, its title included
    head = 0.7 + 0.1 * title_lines  # the figure's two-line title and the first row's panel titles
    width, height = cell * cols + 1.0, cell * rows + head
    fig = new_figure(width, height)
    fig.set_layout_engine(None)
    fig.subplots_adjust(
        left=0.02,
        right=1 - 1.0 / width,
        bottom=0.02,
        top=1 - head / height,
        hspace=0.2 * title_lines + 0.05,
        wspace=0.08,
    )
    axes = fig.subplots(rows, cols, squeeze=False)
    vmax = float(activations[:shown].max()) if shown else 1.0
    vmax = vmax if vmax > 0 else 1.0
    extent = (float(xx.min()), float(xx.max()), float(yy.min()), float(yy.max()))
    cmap = colormaps["YlOrRd"].with_extremes(under="#d4d4d4")  # off: grey, whatever the scale
    on = vmax * 1e-9  # any positive activation is "on"
    colours = _class_colours(len(classes))
    image = None
    for j, ax in _unit_panels(axes, shown):
        image = ax.imshow(
            activations[j], origin="lower", extent=extent, aspect="auto", cmap=cmap, vmin=on, vmax=vmax
        )
        if z[j].min() < 0 < z[j].max():
            ax.contour(xx, yy, z[j], levels=[0.0], colors="black", linewidths=0.7)
        if points is not None:
            X, y = np.asarray(points[0]), np.asarray(points[1])
            ax.scatter(X[:, 0], X[:, 1], s=0.6, c=[colours[k] for k in y], alpha=0.5, linewidths=0)
        values = [_signed(float(u)) for u in U[:, j]]
        # four to a line, so that ten classes' weights stay inside their panel
        weights = "\n".join(" ".join(values[k : k + 4]) for k in range(0, len(values), 4))
        dead = " (off everywhere)" if activations[j].max() <= 0 else ""
        ax.set_title(f"unit {j}{dead}\nU: {weights}", fontsize=7 if U.shape[0] <= 3 else 6, linespacing=1.1)
    if image is not None:
        cax = fig.add_axes((1 - 0.75 / width, 0.15, 0.15 / width, 0.6))
        fig.colorbar(image, cax=cax, label="activation h_j (grey: 0, unit off)", extend="min")
    classes_text = ", ".join(str(c) for c in classes)
    more = f" (first {shown} of {len(activations)})" if shown < len(activations) else ""
    fig.suptitle(
        f"{title or 'Hidden units'}: h_j = relu(w_j·x + b1_j) "
        f"over {feature_names[0]} × {feature_names[1]}{more}\n"
        f"U: unit j's outgoing weights to the logits of {classes_text}",
        fontsize="medium",
    )
    return fig


def weight_images_figure(W: Any, shape: tuple[int, int], unseen: Any = None, title: str = "") -> Figure:
    """Each hidden unit's row of W (its weight on every input pixel) as an image of `shape`, on one
    shared symmetric diverging scale: red pixels raise the unit's input z_j, blue ones lower it, white
    do nothing. Pixels in `unseen` (constant in the training data, so their weights never move from
    their initial values) are greyed out."""
    import numpy as np

    W = np.asarray(W, dtype=np.float64)
    shown = min(len(W), MAX_UNIT_PANELS)
    rows, cols = _panel_grid(shown)
    width, height = 1.25 * cols + 1.1, 1.3 * rows + 0.9
    fig = new_figure(width, height)
    fig.set_layout_engine(None)
    fig.subplots_adjust(
        left=0.02, right=1 - 1.1 / width, bottom=0.02, top=1 - 0.9 / height, hspace=0.3, wspace=0.1
    )
    axes = fig.subplots(rows, cols, squeeze=False)
    mask = np.zeros(shape, dtype=bool) if unseen is None else np.asarray(unseen, dtype=bool).reshape(shape)
    seen = np.abs(W[:shown][:, ~mask.ravel()])
    # the 99th percentile, not the maximum: a handful of large weights would wash every other pixel out
    vmax = float(np.percentile(seen, 99)) if seen.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    beyond = bool(seen.size) and float(seen.max()) > vmax
    from matplotlib import colormaps

    cmap = colormaps["RdBu_r"].with_extremes(bad="#b0b0b0")
    image = None
    for j, ax in _unit_panels(axes, shown):
        picture = np.ma.masked_array(W[j].reshape(shape), mask=mask)
        image = ax.imshow(picture, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(f"unit {j}", fontsize=7, pad=2)
    if image is not None:
        cax = fig.add_axes((1 - 0.85 / width, 0.15, 0.15 / width, 0.6))
        fig.colorbar(image, cax=cax, label="weight (shared scale)", extend="both" if beyond else "neither")
    grey = " Grey: pixels constant in training (weights never learn)." if mask.any() else ""
    more = f" (first {shown} of {len(W)})" if shown < len(W) else ""
    fig.suptitle(
        f"{title or 'First-layer weights'}: row j of W as a {shape[0]}×{shape[1]} image{more}\n"
        f"Red raises unit j's input, blue lowers it.{grey}",
        fontsize="medium",
    )
    return fig
