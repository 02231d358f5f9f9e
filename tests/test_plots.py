"""What each picture draws, asserted on the matplotlib Figure that the plot functions return."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from _shared import trained
from matplotlib.backends.backend_agg import FigureCanvasAgg

from nnapp import pictures
from nnapp.config import DataConfig
from nnapp.core.network import init_params
from nnapp.data.datasets import load_dataset
from nnapp.pictures import SweepPoint
from nnapp.pictures import run as run_pictures
from nnapp.rundir.runs import read_checks
from nnapp.training.records import EpochRecord


def record(epoch: int, loss: float, acc: float) -> EpochRecord:
    return EpochRecord(epoch, loss, acc, loss * 1.1, acc, loss, 0.0, 0.1, 1.0, 0.0, *[0.0] * 8)


HISTORY = [record(0, 1.2, 0.1)] + [record(e, 1.0 / e, 0.9 + 0.0005 * e) for e in range(1, 101)]


def drawn(fig):
    FigureCanvasAgg(fig).draw()  # tick labels exist only once the figure is drawn
    return fig


def moons() -> object:
    return load_dataset(DataConfig(dataset="moons", n_samples=200), seed=0)


def digits() -> object:
    return load_dataset(DataConfig(dataset="digits"), seed=0)


def params_for(data, hidden: int, seed: int = 1) -> dict[str, np.ndarray]:
    return init_params(data.n_features, hidden, data.n_classes, np.random.default_rng(seed))


# --- curves ---------------------------------------------------------------------------------------


def test_curves_draw_the_chance_level_on_the_loss_panel():
    loss_ax, acc_ax = pictures.curves_figure(HISTORY, 50, "t", chance_loss=math.log(3)).axes
    chance = [line for line in loss_ax.get_lines() if "chance" in line.get_label()]
    assert len(chance) == 1 and np.allclose(chance[0].get_ydata(), math.log(3))
    assert not [line for line in acc_ax.get_lines() if "chance" in line.get_label()]


def test_curves_zoom_the_accuracy_axis_to_the_trained_epochs_and_say_where_epoch_0_went():
    acc_ax = pictures.curves_figure(HISTORY).axes[1]
    low, high = acc_ax.get_ylim()
    assert 0.85 < low < 0.9 and 0.95 < high <= 1.01
    assert "epoch 0 below the axis: train 0.10, val 0.10" in acc_ax.get_xlabel()


def test_curves_x_axis_ends_at_the_last_epoch():
    for ax in pictures.curves_figure(HISTORY).axes:
        assert ax.get_xlim() == (0, 100)


def test_a_run_that_diverged_in_epoch_1_draws_epoch_0_and_marks_where_and_why_it_stopped():
    message = "training diverged: runaway loss 1.12e+22 at the end of epoch 1, over 100x the initial loss"
    stop = pictures.stop_mark("diverged", message, epochs_trained=0)
    assert stop == pictures.StopMark(1, "training diverged: runaway loss 1.12e+22 at the end of epoch 1")
    for ax in pictures.curves_figure(HISTORY[:1], 0, "t", stop=stop).axes:
        points = [line for line in ax.get_lines() if line.get_label() in ("train", "train (CE + L2)")]
        assert points[0].get_marker() == "o"  # one epoch is a point, not an invisible line
        (mark,) = [
            line for line in ax.get_lines() if line.get_label().startswith("stopped: training diverged")
        ]
        assert np.allclose(mark.get_xdata(), 1)
        assert ax.get_xlim() == (-0.5, 1.5)


def test_only_a_run_that_stopped_on_an_error_gets_a_stop_mark():
    assert pictures.stop_mark("early_stopping", "early stopping: val_loss has not improved", 40) is None
    assert pictures.stop_mark("completed", None, 40) is None


def test_curves_label_the_minor_log_ticks_as_plain_numbers():
    loss_ax = drawn(pictures.curves_figure(HISTORY)).axes[0]
    minor = [t.get_text() for t in loss_ax.yaxis.get_minorticklabels() if t.get_text()]
    assert "0.02" in minor and "0.05" in minor


def test_the_clipping_note_of_a_diverging_run_is_above_the_panel_not_on_it():
    history = [record(e, 10.0 ** (e * 29), 0.5) for e in range(11)]
    loss_ax = pictures.curves_figure(history, 0).axes[0]
    assert "diverging" in loss_ax.get_title() and not loss_ax.texts


def test_png_helpers_are_the_figures_as_png_bytes():
    assert pictures.curves_png(HISTORY, 3, "t", 1.0) == pictures.png_bytes(
        pictures.curves_figure(HISTORY, 3, "t", 1.0)
    )


@pytest.mark.parametrize("transparent", [False, True])
def test_png_bytes_decode_to_the_pixels_savefig_writes(transparent):
    """png_bytes draws and encodes by itself (half savefig's encoding time): the same pixels, as RGB where
    every pixel is opaque, and with the alpha channel kept where one is not."""
    import io

    from PIL import Image

    fig = pictures.curves_figure(HISTORY, 3, "t", 1.0)
    if transparent:
        fig.patch.set_alpha(0.5)
    reference = io.BytesIO()
    fig.savefig(reference, format="png")
    ours = Image.open(io.BytesIO(pictures.png_bytes(fig)))
    expected = np.asarray(Image.open(reference).convert("RGBA"))
    assert ours.mode == ("RGBA" if transparent else "RGB")
    assert np.array_equal(np.asarray(ours.convert("RGBA")), expected)


# --- gradient checks ------------------------------------------------------------------------------


def test_gradcheck_draws_markers_not_lines_and_the_final_check_in_its_own_panel():
    checks = read_checks(trained("iris"))
    final = [c for c in checks if c.when == "final"]
    assert final  # the fixture run has periodic and final checks
    fig = pictures.gradcheck_figure(checks, 1e-6, 1e-4)
    main, final_ax = fig.axes
    points = [line for line in main.get_lines() if line.get_marker() not in ("None", None, "")]
    assert points and all(line.get_linestyle() == "None" for line in points)
    periodic_epochs = {c.epoch for c in checks if c.when == "epoch"}
    assert {x for line in points for x in line.get_xdata()} == periodic_epochs
    finals = [line for line in final_ax.get_lines() if line.get_linestyle() == "None"]
    assert len(finals) == len(final[0].report.tensors) + (final[0].report.directional is not None)
    assert f"epoch {final[0].epoch}" in final_ax.get_xlabel()


def test_a_tensor_that_judged_nothing_is_drawn_hollow_and_the_legend_says_what_hollow_means():
    from nnapp.core.gradcheck import GradcheckReport, TensorCheck
    from nnapp.training.records import GradcheckRecord

    def check(epoch, checked, verdict):
        return GradcheckRecord(
            epoch, "epoch", GradcheckReport([TensorCheck("W", checked, 5, 2e-8, None, verdict)])
        )

    fig = pictures.gradcheck_figure([check(0, 5, "pass"), check(10, 0, "unreliable")], 1e-6, 1e-4)
    (ax,) = fig.axes
    drawn = [line for line in ax.get_lines() if len(line.get_xdata())]
    hollow = [line for line in drawn if line.get_markerfacecolor() == "none"]
    assert [list(line.get_xdata()) for line in hollow] == [[10]]  # checked=0 is drawn, not dropped
    assert any(label.startswith("hollow: unreliable") for label in ax.get_legend_handles_labels()[1])
    assert list(ax.get_xticks()) == [0, 10]  # ticks at the checks


def test_a_run_checked_at_one_epoch_only_reads_that_integer_epoch_on_the_gradcheck_x_axis():
    from nnapp.core.gradcheck import GradcheckReport, TensorCheck
    from nnapp.training.records import GradcheckRecord

    report = GradcheckReport([TensorCheck("W", 5, 5, 2e-8, None, "pass")])
    (ax,) = drawn(pictures.gradcheck_figure([GradcheckRecord(0, "epoch", report)], 1e-6, 1e-4)).axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0"]
    low, high = ax.get_xlim()
    assert low <= -1 and high >= 1  # a whole epoch either side, not a sliver of one


# --- confusion matrix -----------------------------------------------------------------------------


def test_confusion_has_no_colour_bar_and_writes_counts_and_row_rates():
    fig = pictures.confusion_figure([[3, 1], [0, 4]], ["a", "b"], "t")
    assert len(fig.axes) == 1  # a colour bar would be a second axes
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "3\n75%" in texts and "1\n25%" in texts and "4\n100%" in texts
    image = fig.axes[0].images[0].get_array()
    assert np.allclose(image, [[0.75, 0.25], [0.0, 1.0]])


def test_confusion_title_has_the_accuracy_and_rows_their_counts():
    ax = pictures.confusion_figure([[3, 1], [0, 4]], ["a", "b"]).axes[0]
    assert "accuracy 0.875" in ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a (n=4)", "b (n=4)"]


# --- two-dimensional data -------------------------------------------------------------------------


def test_decision_boundary_shades_probabilities_and_titles_the_test_accuracy():
    data = moons()
    params = params_for(data, 8)
    fig = run_pictures.decision_boundary_figure(data, params, "moons")
    ax = fig.axes[0]
    X_test = data.X_test.astype(np.float64)
    logits = np.maximum(X_test @ params["W"].T + params["b1"], 0) @ params["U"].T + params["b2"]
    accuracy = np.mean(logits.argmax(axis=1) == data.y_test)
    assert f"test accuracy {accuracy:.3f}" in ax.get_title()
    rgb = np.asarray(ax.images[0].get_array())
    assert rgb.shape[0] >= 250  # a grid fine enough for a smooth boundary
    assert len(np.unique(rgb.reshape(-1, 3).round(3), axis=0)) > 50  # shades, not two flat colours


def test_decision_boundary_draws_test_points_apart_from_training_points():
    data = moons()
    params = params_for(data, 8)
    ax = run_pictures.decision_boundary_figure(data, params).axes[0]

    def offsets(gid):
        found = [c.get_offsets() for c in ax.collections if c.get_gid() == gid]
        return np.concatenate(found) if found else np.empty((0, 2))

    def raw(X):
        return X * data.scaler_scale + data.scaler_mean

    def same_rows(a, b):
        return sorted(map(tuple, np.round(a, 9))) == sorted(map(tuple, np.round(b, 9)))

    train_sizes = {float(c.get_sizes()[0]) for c in ax.collections if c.get_gid() == "train"}
    test_sizes = {float(c.get_sizes()[0]) for c in ax.collections if c.get_gid() == "test"}
    assert max(train_sizes) < min(test_sizes)
    assert same_rows(offsets("train"), raw(data.X_train)) and same_rows(offsets("test"), raw(data.X_test))
    logits = np.maximum(data.X_test @ params["W"].T + params["b1"], 0) @ params["U"].T + params["b2"]
    assert same_rows(offsets("wrong"), raw(data.X_test[logits.argmax(axis=1) != data.y_test]))


def test_hidden_unit_maps_are_relu_of_w_x_plus_b_on_the_grid():
    data = moons()
    params = params_for(data, 6)
    fig = run_pictures.hidden_units_figure(data, params, "moons")
    maps = [ax for ax in fig.axes if ax.images and ax.get_title().startswith("unit")]
    assert len(maps) == 6
    for j, ax in enumerate(maps):
        values = np.asarray(ax.images[0].get_array())
        x0, x1, y0, y1 = ax.images[0].get_extent()
        xs, ys = np.linspace(x0, x1, values.shape[1]), np.linspace(y0, y1, values.shape[0])
        expected = np.empty_like(values)
        for r, y in enumerate(ys):  # independently: one point at a time, by the formula
            for c, x in enumerate(xs):
                point = (np.array([x, y]) - data.scaler_mean) / data.scaler_scale
                expected[r, c] = max(0.0, float(params["W"][j] @ point + params["b1"][j]))
        assert np.allclose(values, expected, atol=1e-12)
        weights = re.findall(r"[+−]\d+\.\d", ax.get_title().split("U:")[1])
        assert [float(w.replace("−", "-")) for w in weights] == pytest.approx(params["U"][:, j], abs=0.051)


def test_hidden_units_show_at_most_64_maps():
    z = np.random.default_rng(0).normal(size=(70, 5, 5))
    xx, yy = np.meshgrid(np.arange(5.0), np.arange(5.0))
    fig = pictures.hidden_units_figure(xx, yy, z, np.ones((2, 70)), ["a", "b"], ["x1", "x2"])
    assert sum(1 for ax in fig.axes if ax.images) == 64
    assert "first 64 of 70" in fig.get_suptitle()


def test_weights_show_each_units_row_of_w_as_an_8x8_image_on_one_symmetric_scale():
    data = digits()
    params = params_for(data, 10)
    fig = run_pictures.weights_figure(data, params, "digits")
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 10
    limits = {im.get_clim() for im in images}
    assert len(limits) == 1 and limits.pop()[0] == -images[0].get_clim()[1]
    assert images[0].get_cmap().name.startswith("RdBu")
    constant = np.ptp(data.X_train, axis=0) == 0
    for j, im in enumerate(images):
        picture = im.get_array()
        assert picture.shape == (8, 8)
        assert np.array_equal(picture.mask.ravel(), constant)
        assert np.allclose(picture.filled(0).ravel(), np.where(constant, 0, params["W"][j]))


# --- run directories and report.md ----------------------------------------------------------------


def test_a_two_feature_run_draws_hidden_units_and_an_image_run_draws_weights(tmp_path: Path):
    from nnapp.config import load_config
    from nnapp.orchestration.experiment import run_experiment

    root = Path(__file__).resolve().parents[1]
    moons_run = trained("moons")
    assert (moons_run / "hidden_units.png").exists() and not (moons_run / "weights.png").exists()
    assert "](hidden_units.png)" in (moons_run / "report.md").read_text()
    loaded = load_config(
        root / "configs" / "digits.yaml",
        ["train.epochs=1", "gradcheck.enabled=false", "model.hidden=4", f"output.dir={tmp_path}"],
    )
    digits_run = run_experiment(loaded).run_dir
    assert (digits_run / "weights.png").exists() and not (digits_run / "hidden_units.png").exists()
    assert "](weights.png)" in (digits_run / "report.md").read_text()
    iris_run = trained("iris")
    assert not (iris_run / "weights.png").exists() and not (iris_run / "hidden_units.png").exists()


def test_report_states_the_hyperparameters_features_and_chance_level():
    text = (trained("iris") / "report.md").read_text()
    for phrase in (
        "lr 0.05",
        "schedule constant",
        "weight decay 0",
        "hidden units 16",
        "batch size 16",
        "epochs 3",
        "chance level ln N_c = 1.0986",
        "features: 4: sepal length (cm), sepal width (cm), petal length (cm), petal width (cm)",
    ):
        assert phrase in text


# --- sweeps and overlays --------------------------------------------------------------------------


def test_sweep_draws_each_seed_as_a_dot_beside_the_mean_without_error_bars():
    points = [
        SweepPoint((("optim.lr", "0.1"),), (0.9, 1.0, 1.0)),
        SweepPoint((("optim.lr", "1"),), (0.5, 0.7, 0.6)),
    ]
    ax = pictures.sweep_figure(points, [("optim.lr", ("0.1", "1"))]).axes[0]
    assert not ax.containers  # no error bars
    mean_line, seed_dots = ax.get_lines()
    assert list(mean_line.get_ydata()) == pytest.approx([29 / 30, 0.6])
    assert sorted(seed_dots.get_ydata()) == [0.5, 0.6, 0.7, 0.9, 1.0, 1.0]
    assert seed_dots.get_linestyle() == "None" and ax.get_ylim()[1] <= 1.01


def test_overlay_of_identical_runs_draws_the_second_dashed_and_says_so():
    fig = pictures.overlay_curves_figure([("a", HISTORY), ("a", HISTORY)])
    labels = fig.legends[0].get_texts()
    assert [t.get_text() for t in labels][:2] == ["a", "a (identical to run 1: drawn dashed over it)"]
    acc_lines = [line for line in fig.axes[1].get_lines() if len(line.get_xdata())]
    assert acc_lines[0].get_linestyle() == "-" and acc_lines[1].get_linestyle() == "--"


def test_overlay_stars_each_runs_best_epoch_on_both_panels():
    other = [record(e, 2.0 / (e + 1), 0.8) for e in range(0, 41)]
    loss_ax, acc_ax = pictures.overlay_curves_figure([("a", HISTORY), ("b", other)], "t", [60, 7]).axes

    def stars(ax):
        found = [line for line in ax.get_lines() if line.get_marker() == "*" and len(line.get_xdata())]
        return sorted((float(s.get_xdata()[0]), float(s.get_ydata()[0])) for s in found)

    assert stars(acc_ax) == [(7.0, 0.8), (60.0, pytest.approx(0.93))]
    assert stars(loss_ax) == [(7.0, pytest.approx(0.25 * 1.1)), (60.0, pytest.approx(1.1 / 60))]
