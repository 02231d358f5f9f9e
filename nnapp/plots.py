"""Pictures of a run, drawn with matplotlib's object API on the Agg backend (no pyplot, no window).

Each function takes plain records and returns PNG bytes; artifacts decide where they go.
matplotlib is imported here only, so that the CLI starts fast.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from .trainer import EpochRecord, GradcheckRecord

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


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _integer_epochs(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def curves_png(history: Sequence[EpochRecord], best_epoch: int | None = None, title: str = "") -> bytes:
    """Loss (train vs val, log scale) and accuracy (train vs val) against epoch, best epoch marked."""
    fig = _figure(10, 4)
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = [r.epoch for r in history]
    train_loss, clipped_train = log_safe([r.train_loss for r in history])
    val_loss, clipped_val = log_safe([r.val_loss for r in history])
    loss_ax.plot(epochs, train_loss, label="train (CE + L2)", color="tab:blue")
    loss_ax.plot(epochs, val_loss, label="validation (CE)", color="tab:orange")
    loss_ax.set_yscale("log")
    if clipped_train or clipped_val:
        loss_ax.text(
            0.02,
            0.98,
            f"losses above {LOG_CEILING:g} drawn at {LOG_CEILING:g} (diverging)",
            transform=loss_ax.transAxes,
            va="top",
            fontsize="small",
            color="tab:red",
        )
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss (log scale)")
    loss_ax.set_title("Loss")
    acc_ax.plot(epochs, [r.train_acc for r in history], label="train", color="tab:blue")
    acc_ax.plot(epochs, [r.val_acc for r in history], label="validation", color="tab:orange")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("accuracy")
    acc_ax.set_ylim(-0.02, 1.02)
    acc_ax.set_title("Accuracy")
    for ax in (loss_ax, acc_ax):
        if best_epoch is not None:
            ax.axvline(
                best_epoch, color="tab:green", linestyle="--", linewidth=1, label=f"best epoch {best_epoch}"
            )
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        _integer_epochs(ax)
    if title:
        fig.suptitle(title)
    return _png(fig)


def gradcheck_png(checks: Sequence[GradcheckRecord], tol: float, fail: float, title: str = "") -> bytes:
    """Max relative error per tensor against epoch (log scale), with the tol and fail thresholds."""
    fig = _figure(8, 4.5)
    ax = fig.subplots()
    series: dict[str, tuple[list[int], list[float]]] = {}
    finals: dict[str, tuple[int, float]] = {}
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
                finals[name] = (check.epoch, value)
            else:
                xs, ys = series.setdefault(name, ([], []))
                xs.append(check.epoch)
                ys.append(value)
    for name, (xs, ys) in series.items():
        label = "directional (∇J·u)" if name == "direction" else f"dJ/d{name}"
        ax.plot(xs, ys, marker="o", markersize=3, label=label, color=TENSOR_COLOURS.get(name))
    for name, (x, y) in finals.items():
        ax.plot([x], [y], marker="*", markersize=10, linestyle="none", color=TENSOR_COLOURS.get(name))
    if finals:
        ax.plot([], [], marker="*", linestyle="none", color="black", label="final weights")
    ax.axhline(tol, color="tab:green", linestyle="--", linewidth=1, label=f"tol {tol:g} (pass below)")
    ax.axhline(fail, color="tab:red", linestyle="--", linewidth=1, label=f"fail {fail:g} (fail above)")
    ax.set_yscale("log")
    _integer_epochs(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("max relative error (log scale)")
    ax.set_title(title or "Gradient check: analytic vs finite differences")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    return _png(fig)


def confusion_png(confusion: Any, classes: Sequence[str], title: str = "") -> bytes:
    """The confusion matrix as a heat map with the counts written in (true classes down, predicted across)."""
    import numpy as np

    matrix = np.asarray(confusion)
    n = len(classes)
    size = min(3.5 + 0.45 * n, 12.0)
    fig = _figure(size + 1.2, size)
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, label="rows", shrink=0.8)
    ticks = list(range(n))
    tilt = n > 4 and max(len(str(c)) for c in classes) > 3  # long labels would overlap side by side
    ax.set_xticks(
        ticks, [str(c) for c in classes], rotation=45 if tilt else 0, ha="right" if tilt else "center"
    )
    ax.set_yticks(ticks, [str(c) for c in classes])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if n <= 30:  # beyond that the numbers would not fit in their cells
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(n):
            for j in range(n):
                colour = "white" if matrix[i, j] > threshold else "black"
                ax.text(
                    j, i, str(int(matrix[i, j])), ha="center", va="center", color=colour, fontsize="small"
                )
    total = int(matrix.sum())
    accuracy = float(np.trace(matrix)) / total if total else 0.0
    ax.set_title(f"{title or 'Confusion matrix'}\n{total} rows, accuracy {accuracy:.3f}", fontsize="medium")
    return _png(fig)


def _class_colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(n)]


def decision_boundary_png(
    xx: Any,
    yy: Any,
    grid_labels: Any,
    X: Any,
    y: Any,
    classes: Sequence[str],
    feature_names: Sequence[str],
    title: str = "",
) -> bytes:
    """Predicted class regions over two features (original units), the training points on top."""
    import numpy as np
    from matplotlib.colors import ListedColormap

    colours = _class_colours(len(classes))
    fig = _figure(7, 5.5)
    ax = fig.subplots()
    levels = np.arange(len(classes) + 1) - 0.5
    ax.contourf(xx, yy, grid_labels, levels=levels, cmap=ListedColormap(colours), alpha=0.25)
    ax.contour(xx, yy, grid_labels, levels=levels, colors="black", linewidths=0.6, alpha=0.6)
    X, y = np.asarray(X), np.asarray(y)
    for k, name in enumerate(classes):
        points = X[y == k]
        ax.scatter(
            points[:, 0], points[:, 1], s=14, color=colours[k], edgecolors="black", linewidths=0.4, label=name
        )
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_title(title or "Decision regions (training points on top)")
    ax.legend(title="class", loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    return _png(fig)


def overlay_curves_png(runs: Sequence[tuple[str, Sequence[EpochRecord]]], title: str = "") -> bytes:
    """Loss and validation accuracy of several runs in one figure, one colour per run, legend below."""
    fig = _figure(12, 4.6 + 0.22 * len(runs))
    loss_ax, acc_ax = fig.subplots(1, 2)
    colours = _class_colours(len(runs))
    for (label, history), colour in zip(runs, colours, strict=True):
        epochs = [r.epoch for r in history]
        loss_ax.plot(epochs, [r.val_loss for r in history], color=colour)
        loss_ax.plot(epochs, [r.train_loss for r in history], color=colour, linestyle=":", linewidth=1)
        acc_ax.plot(epochs, [r.val_acc for r in history], color=colour, label=label)
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss (log scale)")
    loss_ax.set_title("Loss: validation CE (solid), train CE + L2 (dotted)", fontsize="medium")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy")
    acc_ax.set_ylim(-0.02, 1.02)
    acc_ax.set_title("Validation accuracy", fontsize="medium")
    for ax in (loss_ax, acc_ax):
        ax.grid(True, alpha=0.3)
    # one legend for both panels, under them, so that long labels never cover a curve
    fig.legend(loc="outside lower center", fontsize="small", frameon=False)
    if title:
        fig.suptitle(title)
    return _png(fig)
