"""Pictures of the teaching lab (saliency, FGSM attack, learning-rate range test).

matplotlib's object API on the Agg backend (no pyplot, no window), imported inside each function so
that `nnapp --help` stays fast. Each function takes a typed result and returns PNG bytes.
"""

from __future__ import annotations

import numpy as np

from nnapp.lab.attack import AttackExamples, AttackResult
from nnapp.lab.lr_find import LrFindResult
from nnapp.lab.saliency import Saliency
from nnapp.pictures.base import new_figure, png_bytes

MAX_BARS = 30
STOP_WORDS = {
    "diverged": "stopped when the smoothed loss passed 4× its minimum",
    "non-finite": "stopped when the loss became non-finite",
    "end of range": "reached lr 10 without diverging",
}  # a ranked bar chart beyond this many features is unreadable: the rest are in the CSV


def saliency_png(result: Saliency, title: str = "") -> bytes:
    """Ranked bars of mean |dJ/dx| per feature; for n x n image data, one map per class (and overall)."""
    heading = title or "Saliency"
    if result.image_side is not None:
        return _saliency_maps(result, heading)
    order = np.argsort(result.mean_abs_grad)[::-1][:MAX_BARS]
    names = [result.feature_names[j] for j in order]
    fig = new_figure(8, 1.6 + 0.32 * len(order))
    ax = fig.subplots()
    positions = np.arange(len(order))[::-1]  # the largest at the top
    ax.barh(positions, result.mean_abs_grad[order], color="tab:purple", alpha=0.45, label="all rows")
    if len(result.classes) <= 10:  # one marker per true class on each bar (more would be a blur)
        from matplotlib import colormaps

        colours = colormaps["tab10"]
        for k, label in enumerate(result.classes):
            ax.plot(
                result.per_class[k, order],
                positions,
                "o",
                markersize=5,
                color=colours(k),
                markeredgecolor="black",
                markeredgewidth=0.4,
                label=f"true class {label} ({int(result.class_rows[k])})",
            )
        ax.legend(loc="lower right", fontsize="small")
    ax.set_yticks(positions, names)
    ax.set_xlabel("mean |∂J/∂x| per example (scaled input units, data.scaling)")
    ax.grid(True, axis="x", alpha=0.3)
    shown = (
        ""
        if len(order) == len(result.feature_names)
        else f", top {len(order)} of {len(result.feature_names)}"
    )
    ax.set_title(
        f"{heading}\nhow strongly each feature moves the loss ({result.split} split, "
        f"{result.n_rows} rows{shown})",
        fontsize="medium",
    )
    return png_bytes(fig)


def _saliency_maps(result: Saliency, heading: str) -> bytes:
    side = result.image_side
    assert side is not None
    maps = [("all classes", result.mean_abs_grad, result.n_rows)]
    maps += [
        (f"class {c}", result.per_class[k], int(result.class_rows[k])) for k, c in enumerate(result.classes)
    ]
    columns = min(6, len(maps))
    rows = -(-len(maps) // columns)
    fig = new_figure(2.0 * columns + 1.0, 2.4 * rows + 0.9)
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    # each map on its own scale (0 to its largest value, written under it): on one shared scale the
    # class with the largest gradients (the least confident one) leaves every other map black
    for ax, (label, values, n) in zip(axes, maps, strict=False):
        grid = np.asarray(values, dtype=np.float64).reshape(side, side)
        finite = grid[np.isfinite(grid)]
        top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        ax.imshow(grid, cmap="magma", vmin=0, vmax=top)
        ax.set_title(f"{label} ({n})", fontsize="small")
        ax.set_xlabel(f"white = {top:.2g}", fontsize="x-small")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(maps) :]:
        ax.axis("off")
    fig.suptitle(
        f"{heading}: which pixels move the loss, by true class ({result.split} split, rows in brackets)\n"
        "mean |∂J/∂x| in scaled input units; each map on its own scale, black 0 to white its largest value",
        fontsize="medium",
    )
    return png_bytes(fig)


def attack_png(result: AttackResult, title: str = "") -> bytes:
    """Accuracy against eps: FGSM and the random-sign control."""
    eps = [p.eps for p in result.points]
    fig = new_figure(7, 4.6)
    ax = fig.subplots()
    ax.plot(
        eps,
        [p.accuracy_random for p in result.points],
        "o-",
        color="tab:gray",
        label="random signs (control)",
    )
    ax.plot(eps, [p.accuracy_fgsm for p in result.points], "o-", color="tab:red", label="FGSM: ε·sign(∂J/∂x)")
    ax.set_xlabel("ε (scaled input units: ε × each feature's training scale, data.scaling)")
    ax.set_ylabel(f"accuracy ({result.split} split, {result.n_rows} rows)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left")
    ax.set_title(
        f"{title or 'Adversarial examples'}\nthe same step size, along the gradient's signs or at random",
        fontsize="medium",
    )
    return png_bytes(fig)


def attack_examples_png(examples: AttackExamples, title: str = "") -> bytes:
    """Originals, perturbations and adversarial images, with true and predicted labels."""
    k = len(examples.original)
    fig = new_figure(1.45 * k + 1.6, 5.4)
    axes = np.atleast_2d(fig.subplots(3, k, squeeze=False))
    adversarial = examples.original + examples.perturbation
    # the originals' range for both rows: FGSM is not clipped to valid pixels, and a shared wider range
    # would grey the originals' background; adversarial pixels beyond it show at the range's ends
    low, high = float(examples.original.min()), float(examples.original.max())
    bound = float(np.abs(examples.perturbation).max()) or 1.0
    pixel = perturb = None
    for i in range(k):
        pixel = axes[0, i].imshow(examples.original[i], cmap="gray_r", vmin=low, vmax=high)
        axes[0, i].set_title(
            f"true {examples.true_labels[i]}\npred {examples.predicted_before[i]}", fontsize="small"
        )
        perturb = axes[1, i].imshow(examples.perturbation[i], cmap="RdBu_r", vmin=-bound, vmax=bound)
        axes[2, i].imshow(adversarial[i], cmap="gray_r", vmin=low, vmax=high)
        fooled = examples.predicted_after[i] != examples.true_labels[i]
        axes[2, i].set_title(
            f"pred {examples.predicted_after[i]}", fontsize="small", color="tab:red" if fooled else "black"
        )
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for row, label in enumerate(("original", "perturbation", "adversarial")):
        axes[row, 0].set_ylabel(label)
    if pixel is not None and perturb is not None:  # one colour bar per row, beside that row
        fig.colorbar(pixel, ax=axes[0, :].tolist(), label="pixel value", shrink=0.9)
        fig.colorbar(perturb, ax=axes[1, :].tolist(), label="change in pixel value", shrink=0.9)
        fig.colorbar(pixel, ax=axes[2, :].tolist(), label="pixel value", shrink=0.9)
    fig.suptitle(
        f"{title or 'FGSM'}: ε = {examples.eps:g} scaled input units, at most {bound:.2g} in pixel value "
        "(red title: fooled)",
        fontsize="medium",
    )
    return png_bytes(fig)


def lr_find_png(result: LrFindResult, title: str = "") -> bytes:
    """Loss against learning rate (log x axis), raw and smoothed, the minimum and the suggestion marked."""
    from nnapp.pictures.ticks import power_labels

    fig = new_figure(8, 5)
    ax = fig.subplots()
    ax.plot(result.lrs, result.losses, color="tab:blue", alpha=0.35, linewidth=1, label="loss per step")
    ax.plot(result.lrs, result.smoothed, color="tab:blue", linewidth=2, label="smoothed (EMA)")
    ax.set_xscale("log")
    power_labels(ax.xaxis)  # 10⁻⁴ in plain text, as on the run's pictures
    ax.axvline(
        result.min_lr, color="tab:gray", linestyle=":", label=f"smoothed minimum, lr {result.min_lr:.2g}"
    )
    ax.axvline(
        result.suggestion,
        color="tab:red",
        linestyle="--",
        label=f"suggested optim.lr = {result.suggestion:.2g}",
    )
    on_curve = np.interp(np.log10(result.suggestion), np.log10(result.lrs), result.smoothed)
    ax.plot([result.suggestion], [on_curve], "o", color="tab:red")
    # the explosion at the end would squash the interesting part: cap the view a little above the start
    top = max(float(result.smoothed[0]), float(np.min(result.smoothed))) * 1.6
    finite = result.losses[np.isfinite(result.losses)]
    ax.set_ylim(0, min(top, float(finite.max()) * 1.05) if len(finite) else top)
    ax.set_xlabel("learning rate (log scale; it grows every step)")
    ax.set_ylabel("training loss (CE + L2, mini-batch)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(
        f"{title or 'Learning-rate range test'}\n{len(result.lrs)} of {result.steps_planned} steps; "
        f"{STOP_WORDS.get(result.stop_reason, result.stop_reason)}",
        fontsize="medium",
    )
    return png_bytes(fig)
