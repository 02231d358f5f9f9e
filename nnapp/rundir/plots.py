"""Pictures of a run, drawn with matplotlib's object API on the Agg backend (no pyplot, no window).

Each `*_figure` function takes plain records or arrays and returns a matplotlib Figure (a notebook shows
it as it is); each `*_png` is the same picture as PNG bytes (`png_bytes`), and artifacts decide where they
go. matplotlib is imported here only, so that the CLI starts fast.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nnapp.training.records import EpochRecord, GradcheckRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TENSOR_COLOURS = {
    "W": "tab:blue",
    "b1": "tab:orange",
    "U": "tab:green",
    "b2": "tab:red",
    "x": "tab:purple",
    "direction": "tab:gray",
}


# matplotlib's log locator overflows on axes spanning ~300 decades (a diverging run's loss reaches 1e300):
# values are clipped into this band; beyond 1e100 the curve says "diverged" just as clearly.
LOG_FLOOR, LOG_CEILING = 1e-16, 1e100


def log_safe(values: Sequence[float]) -> tuple[list[float], bool]:
    """Values ready for a log axis: non-finite -> NaN (a gap), clipped into [LOG_FLOOR, LOG_CEILING].

    Also returns whether any value was above the ceiling (the caller says so on the plot).
    """
    out, clipped = [], False
    for v in values:
        if not math.isfinite(v):
            out.append(math.nan)
        elif v > LOG_CEILING:
            out.append(LOG_CEILING)
            clipped = True
        else:
            out.append(max(v, LOG_FLOOR))
    return out, clipped


def _figure(width: float, height: float, margins: dict[str, float] | None = None) -> Figure:
    """A Figure with constrained layout, or with fixed `margins` (subplots_adjust's figure fractions).

    Constrained layout measures every tick label before drawing: in a fresh process that took about
    half of `nnapp train configs/iris.yaml`'s plotting time. Figures whose labels do not depend on the
    data (curves, gradient checks) use fixed margins read off their constrained layout instead.
    """
    from matplotlib.figure import Figure

    if margins is not None:
        fig = Figure(figsize=(width, height), dpi=110)
        fig.subplots_adjust(**margins)
        return fig
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def png_bytes(fig: Figure) -> bytes:
    """A Figure as PNG bytes, without a time stamp or software tag (the same picture, the same bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _integer_epochs(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _epoch_range(ax: Any, epochs: Sequence[int]) -> None:
    """The x axis spans exactly the epochs trained: no empty margin after the last one."""
    if len(epochs) > 1:
        ax.set_xlim(epochs[0], epochs[-1])


def _plain_log_labels(ax: Any) -> None:
    """On a log y axis spanning at most four decades, label the minor ticks at 2x and 5x as plain
    numbers (0.02, 0.05, ...): a student reads 0.05 off the axis instead of guessing between 10^-2 and
    10^-1. Wider axes (a diverging run) keep the powers of ten only."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    low, high = ax.get_ylim()
    if not (0 < low < high) or math.log10(high / low) > 4:
        return
    plain = FuncFormatter(lambda value, _pos: f"{value:g}")
    ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ax.yaxis.set_minor_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    ax.tick_params(axis="y", which="minor", labelsize="small")


def _zoom_accuracy(ax: Any, history: Sequence[EpochRecord], series: Sequence[str]) -> str:
    """Accuracy axis limits that fit the trained epochs (each history's first epoch left out: an
    untrained network's accuracy near chance would stretch the axis back to 0-1). `history` may pool
    several runs. Returns a note naming what falls below the axis, or ""."""
    start = min((r.epoch for r in history), default=0)
    trained = [r for r in history if r.epoch > start] or list(history)
    values = [getattr(r, s) for r in trained for s in series]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return ""
    low, high = min(values), max(values)
    pad = max(0.01, 0.06 * (high - low))
    ax.set_ylim(max(low - pad, -0.01), min(high + pad, 1.0 + pad / 2))
    if len(trained) == len(history):
        return ""
    names = {"train_acc": "train", "val_acc": "val"}
    below = [
        f"{names.get(s, s)} {getattr(r, s):.2f}"
        for r in history
        if r.epoch == start
        for s in series
        if getattr(r, s) < low - pad
    ]
    if not below:
        return ""
    if len(below) > len(series):  # several runs: their values would make a long line
        return f"epoch {start} below the axis"
    return f"epoch {start} below the axis: {', '.join(below)}"


def curves_figure(
    history: Sequence[EpochRecord],
    best_epoch: int | None = None,
    title: str = "",
    chance_loss: float | None = None,
) -> Figure:
    """Loss (train vs val, log scale, the chance level ln N_c) and accuracy (train vs val, zoomed to
    the trained epochs) against epoch, best epoch marked."""
    epochs = [r.epoch for r in history]
    train_loss, clipped_train = log_safe([r.train_loss for r in history])
    val_loss, clipped_val = log_safe([r.val_loss for r in history])
    clipped = clipped_train or clipped_val
    top = 0.87 if title else 0.93
    margins = {
        "left": 0.07,
        "right": 0.99,
        "bottom": 0.12,
        "top": top - (0.05 if clipped else 0),
        "wspace": 0.2,
    }
    fig = _figure(10, 4, margins)
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, train_loss, label="train (CE + L2)", color="tab:blue")
    loss_ax.plot(epochs, val_loss, label="validation (CE)", color="tab:orange")
    if chance_loss is not None and math.isfinite(chance_loss):
        loss_ax.axhline(
            chance_loss,
            color="tab:gray",
            linestyle=":",
            linewidth=1.2,
            label=f"chance ln N_c = {chance_loss:.3f}",
        )
    loss_ax.set_yscale("log")
    _plain_log_labels(loss_ax)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss (log scale)")
    if clipped:  # in the title's place, above the axes, so that the note never covers a curve
        loss_ax.set_title(
            f"Loss\ndiverging: values above {LOG_CEILING:g} drawn at {LOG_CEILING:g}", color="tab:red"
        )
    else:
        loss_ax.set_title("Loss")
    acc_ax.plot(epochs, [r.train_acc for r in history], label="train", color="tab:blue")
    acc_ax.plot(epochs, [r.val_acc for r in history], label="validation", color="tab:orange")
    below = _zoom_accuracy(acc_ax, history, ("train_acc", "val_acc"))
    # epoch 0 off the zoomed axis is said under it, where the note can cover neither a curve nor a title
    acc_ax.set_xlabel("epoch" + (f"\n({below})" if below else ""))
    if below:
        fig.subplots_adjust(bottom=0.16)
    acc_ax.set_ylabel("accuracy")
    acc_ax.set_title("Accuracy")
    for ax in (loss_ax, acc_ax):
        if best_epoch is not None:
            ax.axvline(
                best_epoch, color="tab:green", linestyle="--", linewidth=1, label=f"best epoch {best_epoch}"
            )
        ax.grid(True, alpha=0.3)
        ax.grid(True, which="minor", axis="y", alpha=0.12)
        ax.legend(loc="best", fontsize="small")
        _integer_epochs(ax)
        _epoch_range(ax, epochs)
    if title:
        fig.suptitle(title)
    return fig


def curves_png(
    history: Sequence[EpochRecord],
    best_epoch: int | None = None,
    title: str = "",
    chance_loss: float | None = None,
) -> bytes:
    return png_bytes(curves_figure(history, best_epoch, title, chance_loss))


TENSOR_MARKERS = {"W": "o", "b1": "s", "U": "^", "b2": "v", "x": "D", "direction": "X"}


def gradcheck_figure(checks: Sequence[GradcheckRecord], tol: float, fail: float, title: str = "") -> Figure:
    """Max relative error per tensor at each periodic check (markers: checks are epochs apart, nothing
    happens between them), and the final check on the returned (best) weights in its own slot on the
    right, so that it never hides the periodic check of the epoch it came from."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    finals: dict[str, float] = {}
    final_epoch: int | None = None
    for check in checks:
        points = [(t.name, t.max_error, t.checked) for t in check.report.tensors]
        d = check.report.directional
        if d is not None and not d.kink:
            points.append(("direction", d.error, 1))
        for name, error, checked in points:
            if checked == 0:
                continue
            value = log_safe([error])[0][0]  # an exact match (0) would vanish from a log axis
            if check.when == "final":
                finals[name] = value
                final_epoch = check.epoch
            else:
                xs, ys = series.setdefault(name, ([], []))
                xs.append(check.epoch)
                ys.append(value)
    fig = _figure(8.5, 4.5, {"left": 0.09, "right": 0.76, "bottom": 0.15, "top": 0.93, "wspace": 0.04})
    if finals:
        ax, final_ax = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [8, 1.3]})
    else:
        ax, final_ax = fig.subplots(), None
    n_periodic = max((len(xs) for xs, _ in series.values()), default=0)
    size = 4.5 if n_periodic <= 40 else 3.0 if n_periodic <= 120 else 2.0  # 2,000 epochs: 200 checks
    names = [n for n in TENSOR_MARKERS if n in series or n in finals]
    for name in names:
        label = "directional (∇J·u)" if name == "direction" else f"dJ/d{name}"
        colour, marker = TENSOR_COLOURS.get(name), TENSOR_MARKERS[name]
        xs, ys = series.get(name, ([], []))
        ax.plot(
            xs, ys, linestyle="none", marker=marker, markersize=size, alpha=0.85, color=colour, label=label
        )
        if final_ax is not None and name in finals:
            final_ax.plot(
                [names.index(name)],
                [finals[name]],
                linestyle="none",
                marker=marker,
                markersize=6,
                color=colour,
            )
    for axis in (ax, final_ax):
        if axis is None:
            continue
        axis.axhline(tol, color="tab:green", linestyle="--", linewidth=1, label=f"tol {tol:g} (pass below)")
        axis.axhline(fail, color="tab:red", linestyle="--", linewidth=1, label=f"fail {fail:g} (fail above)")
        axis.grid(True, alpha=0.3)
    ax.set_yscale("log")
    _integer_epochs(ax)
    epochs = sorted({x for xs, _ in series.values() for x in xs})
    if len(epochs) > 1:
        pad = 0.02 * (epochs[-1] - epochs[0])
        ax.set_xlim(epochs[0] - pad, epochs[-1] + pad)
    ax.set_xlabel("epoch (periodic checks)")
    ax.set_ylabel("max relative error (log scale)")
    if final_ax is not None:
        final_ax.set_xlim(-0.8, len(names) - 0.2)
        final_ax.set_xticks([])
        final_ax.set_xlabel(f"final check:\nbest weights\n(epoch {final_epoch})", fontsize="small")
        final_ax.tick_params(axis="y", which="both", left=False)
    ax.set_title(title or "Gradient check: analytic vs finite differences")
    handles, labels = ax.get_legend_handles_labels()
    (final_ax or ax).legend(
        handles,
        labels,
        loc="center left",
        bbox_to_anchor=(1.04, 0.5),
        fontsize="small",
        markerscale=4.5 / size,  # legend symbols as large as on a short run, however small the points
    )
    return fig


def gradcheck_png(checks: Sequence[GradcheckRecord], tol: float, fail: float, title: str = "") -> bytes:
    return png_bytes(gradcheck_figure(checks, tol, fail, title))


def confusion_figure(confusion: Any, classes: Sequence[str], title: str = "") -> Figure:
    """The confusion matrix (true classes down, predicted across): each cell's count and its share of
    the true class's row, coloured by that share (0 to 1, so no colour bar is needed: the numbers are
    written in). Zero cells are left pale and unlabelled past a few classes, so that errors stand out."""
    import numpy as np

    matrix = np.asarray(confusion)
    n = len(classes)
    row_totals = matrix.sum(axis=1)
    rates = np.divide(matrix, row_totals[:, None], out=np.zeros(matrix.shape), where=row_totals[:, None] > 0)
    size = min(4.0 + 0.5 * n, 12.0)
    fig = _figure(size + 1.6, size + 0.4)  # the row labels carry their counts
    ax = fig.subplots()
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ticks = list(range(n))
    tilt = n > 4 and max(len(str(c)) for c in classes) > 3  # long labels would overlap side by side
    ax.set_xticks(
        ticks, [str(c) for c in classes], rotation=45 if tilt else 0, ha="right" if tilt else "center"
    )
    ax.set_yticks(ticks, [f"{c} (n={int(t)})" for c, t in zip(classes, row_totals, strict=True)])
    ax.set_xlabel("predicted class\n(each cell: count, and its share of the true class's row)")
    ax.set_ylabel("true class")
    both = n <= 12  # count and rate in each cell; beyond that only the count fits
    font = "large" if n <= 4 else "small"
    if n <= 30:  # beyond that the numbers would not fit in their cells
        for i in range(n):
            for j in range(n):
                count, rate = int(matrix[i, j]), float(rates[i, j])
                if count == 0 and n > 4:
                    continue  # blank: the few mistakes stand out among ten-by-ten cells
                text = f"{count}\n{rate:.0%}" if both and count else str(count)
                colour = "white" if rate > 0.5 else "black" if count else "gray"
                ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=font, linespacing=1.1)
    total = int(matrix.sum())
    accuracy = float(np.trace(matrix)) / total if total else 0.0
    heading = title or "Confusion matrix"
    ax.set_title(
        f"{heading}\n{total} rows, accuracy {accuracy:.3f}",
        fontsize="medium",
    )
    return fig


def confusion_png(confusion: Any, classes: Sequence[str], title: str = "") -> bytes:
    return png_bytes(confusion_figure(confusion, classes, title))


def _class_colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(n)]


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
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    proba = np.asarray(proba)
    n = len(classes)
    colours = _class_colours(n)
    fig = _figure(7.6, 5.6)
    ax = fig.subplots()
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
    return fig


def decision_boundary_png(
    xx: Any,
    yy: Any,
    proba: Any,
    train: tuple[Any, Any],
    test: tuple[Any, Any, Any],
    classes: Sequence[str],
    feature_names: Sequence[str],
    title: str = "",
) -> bytes:
    return png_bytes(decision_boundary_figure(xx, yy, proba, train, test, classes, feature_names, title))


MAX_UNIT_PANELS = 64


def _panel_grid(count: int) -> tuple[int, int]:
    cols = max(1, math.ceil(math.sqrt(count)))
    return math.ceil(count / cols), cols


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
    fig = _figure(width, height)
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
    for j, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= shown:
            ax.set_axis_off()
            continue
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


def hidden_units_png(
    xx: Any,
    yy: Any,
    preactivations: Any,
    U: Any,
    classes: Sequence[str],
    feature_names: Sequence[str],
    title: str = "",
    points: tuple[Any, Any] | None = None,
) -> bytes:
    return png_bytes(hidden_units_figure(xx, yy, preactivations, U, classes, feature_names, title, points))


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
    fig = _figure(width, height)
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
    for j, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= shown:
            ax.set_axis_off()
            continue
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


def weight_images_png(W: Any, shape: tuple[int, int], unseen: Any = None, title: str = "") -> bytes:
    return png_bytes(weight_images_figure(W, shape, unseen, title))


def _best_marks(
    ax: Any, history: Sequence[EpochRecord], best_epoch: int | None, field: str, colour: Any
) -> None:
    if best_epoch is None:
        return
    for record in history:
        if record.epoch == best_epoch:
            value = getattr(record, field)
            if math.isfinite(value):
                ax.plot(
                    [best_epoch],
                    [value],
                    marker="*",
                    markersize=11,
                    color=colour,
                    markeredgecolor="black",
                    linestyle="none",
                )
            return


def overlay_curves_figure(
    runs: Sequence[tuple[str, Sequence[EpochRecord]]],
    title: str = "",
    best_epochs: Sequence[int | None] | None = None,
) -> Figure:
    """Loss and validation accuracy of several runs in one figure, one colour per run, each run's best
    epoch starred, legend below."""
    fig = _figure(12, 4.6 + 0.22 * len(runs))
    loss_ax, acc_ax = fig.subplots(1, 2)
    colours = _class_colours(len(runs))
    bests = list(best_epochs) if best_epochs is not None else [None] * len(runs)
    for (label, history), colour, best in zip(runs, colours, bests, strict=True):
        epochs = [r.epoch for r in history]
        loss_ax.plot(epochs, log_safe([r.val_loss for r in history])[0], color=colour)
        loss_ax.plot(
            epochs, log_safe([r.train_loss for r in history])[0], color=colour, linestyle=":", linewidth=1
        )
        acc_ax.plot(epochs, [r.val_acc for r in history], color=colour, label=label)
        _best_marks(loss_ax, history, best, "val_loss", colour)
        _best_marks(acc_ax, history, best, "val_acc", colour)
    loss_ax.set_yscale("log")
    _plain_log_labels(loss_ax)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss (log scale)")
    loss_ax.set_title("Loss: validation CE (solid), train CE + L2 (dotted)", fontsize="medium")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy")
    acc_ax.set_title("Validation accuracy", fontsize="medium")
    pooled = [r for _, history in runs for r in history]
    below = _zoom_accuracy(acc_ax, pooled, ("val_acc",))
    if below:
        acc_ax.set_xlabel(f"epoch\n({below})")
    epochs = sorted({r.epoch for r in pooled})
    for ax in (loss_ax, acc_ax):
        ax.grid(True, alpha=0.3)
        _epoch_range(ax, [epochs[0], epochs[-1]] if epochs else [])
    if any(b is not None for b in bests):
        acc_ax.plot(
            [],
            [],
            marker="*",
            markersize=11,
            color="white",
            markeredgecolor="black",
            linestyle="none",
            label="best epoch (each run)",
        )
    # one legend for both panels, under them, so that long labels never cover a curve
    fig.legend(loc="outside lower center", fontsize="small", frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def overlay_curves_png(
    runs: Sequence[tuple[str, Sequence[EpochRecord]]],
    title: str = "",
    best_epochs: Sequence[int | None] | None = None,
) -> bytes:
    return png_bytes(overlay_curves_figure(runs, title, best_epochs))


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: its settings (key, value as written) and each seed's validation accuracy."""

    settings: tuple[tuple[str, str], ...]
    val_accs: tuple[float, ...]


def _sweep_positions(values: Sequence[str]) -> tuple[dict[str, float], bool]:
    try:
        return {v: float(v) for v in values}, True
    except ValueError:
        return {v: float(i) for i, v in enumerate(values)}, False


def _log_scale(xs: Sequence[float]) -> bool:
    return min(xs) > 0 and max(xs) / min(xs) >= 10 and all(math.isfinite(x) for x in xs)


def sweep_figure(
    points: Sequence[SweepPoint], axes: Sequence[tuple[str, Sequence[str]]], title: str = ""
) -> Figure:
    """Validation accuracy against each swept value, one panel per key (`axes`: key and its values in
    the order given); within a panel one line per combination of the other keys through the means over
    seeds, each seed's accuracy a small dot beside its mean (no error bars: accuracy stops at 1)."""
    import numpy as np

    n = max(len(axes), 1)
    fig = _figure(min(5.0 * n, 16.0), 4.2)
    panels = fig.subplots(1, n, squeeze=False)[0]
    for ax, (key, values) in zip(panels, axes, strict=False):
        positions, numeric = _sweep_positions(values)
        xs_all = list(positions.values())
        log = numeric and _log_scale(xs_all)
        span = (math.log10(max(xs_all) / min(xs_all)) if log else max(xs_all) - min(xs_all)) or 1.0
        others = [(k, list(v)) for k, v in axes if k != key]
        lines: dict[tuple[int, ...], list[tuple[float, tuple[float, ...]]]] = {}
        for point in points:
            settings = dict(point.settings)
            line = tuple(v.index(settings[k]) for k, v in others)  # legend in the order given
            lines.setdefault(line, []).append((positions[settings[key]], point.val_accs))
        multi_seed = any(len(p.val_accs) > 1 for p in points)

        def shifted(x: float, offset: float, log: bool = log, span: float = span) -> float:
            return x * 10 ** (offset * span) if log else x + offset * span

        for k, (line, pts) in enumerate(sorted(lines.items())):
            name = " ".join(f"{ok}={ov[i]}" for (ok, ov), i in zip(others, line, strict=True)) or "all"
            pts.sort()
            # lines slightly side by side, so that equal values stay visible
            offset = (k - (len(lines) - 1) / 2) * 0.012
            xs = [shifted(x, offset) for x, _ in pts]
            means = [float(np.mean(accs)) for _, accs in pts]
            drawn = ax.plot(xs, means, marker="o", markersize=5, label=name)
            if multi_seed:
                seed_x = [shifted(x, offset + 0.025) for x, accs in pts for _ in accs]
                seed_y = [a for _, accs in pts for a in accs]
                ax.plot(
                    seed_x,
                    seed_y,
                    linestyle="none",
                    marker=".",
                    markersize=7,
                    alpha=0.7,
                    color=drawn[0].get_color(),
                )
        if log:
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(list(positions.values()), list(positions))  # the values as written
        ax.set_ylim(top=1.01)
        ax.set_xlabel(key)
        ax.set_ylabel(
            "validation accuracy" + ("\n(line: mean over seeds; dots: each seed)" if multi_seed else "")
        )
        ax.grid(True, alpha=0.3)
        if len(lines) > 1:
            ax.legend(fontsize="small", loc="best")
    if title:
        fig.suptitle(title)
    return fig


def sweep_png(
    points: Sequence[SweepPoint], axes: Sequence[tuple[str, Sequence[str]]], title: str = ""
) -> bytes:
    return png_bytes(sweep_figure(points, axes, title))
