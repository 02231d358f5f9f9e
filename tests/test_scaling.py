"""data.scaling: each kind is scikit-learn's scaler as (x - offset) / scale, fit on the training rows; the
kind travels with the model, and a feature scaled far outside what training saw is named before training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _shared import FLOWERS, ROOT
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.config import DataConfig, load_config
from nnapp.data import splits
from nnapp.data.datasets import load_dataset
from nnapp.data.spread import far_values, spread_note
from nnapp.data.tables import Dataset
from nnapp.errors import ConfigError
from nnapp.orchestration.experiment import run_experiment
from nnapp.rundir.runs import load_run

SKLEARN = {"standard": StandardScaler, "minmax": MinMaxScaler, "maxabs": MaxAbsScaler}
columns = arrays(
    np.float64,
    st.tuples(st.integers(2, 30), st.integers(1, 4)),
    elements=st.floats(-1e3, 1e3) | st.sampled_from([0.0, 5.0]),  # constant columns too
)


@pytest.mark.parametrize("kind", sorted(SKLEARN))
@given(X=columns)
def test_each_scaling_transforms_like_its_scikit_learn_scaler(kind, X):
    offset, scale = splits.fit_scaling(kind, X)
    expected = SKLEARN[kind]().fit_transform(X)
    np.testing.assert_allclose((X - offset) / scale, expected, rtol=1e-9, atol=1e-9)


def test_scaling_none_leaves_the_rows_as_they_are():
    X = np.array([[1.0, -20.0], [3.0, 40.0]])
    offset, scale = splits.fit_scaling("none", X)
    np.testing.assert_array_equal((X - offset) / scale, X)


def test_minmax_puts_the_training_rows_in_0_1():
    data = load_dataset(
        DataConfig(
            dataset="csv", path=str(FLOWERS), target="species", categorical=["garden"], scaling="minmax"
        ),
        0,
    )
    assert data.X_train.min(axis=0) == pytest.approx(0.0)
    assert data.X_train.max(axis=0) == pytest.approx(1.0)


def test_the_model_records_its_scaling_and_predict_applies_it(tmp_path):
    loaded = load_config(
        ROOT / "configs" / "iris.yaml",
        ["data.scaling=maxabs", "train.epochs=2", "output.plots=false", f"output.dir={tmp_path}"],
    )
    run = load_run(run_experiment(loaded).run_dir)
    assert run.model.scaling == "maxabs"
    data = load_dataset(loaded.config.data, loaded.config.seed)
    raw = data.X_test * data.scaler_scale + data.scaler_mean
    np.testing.assert_allclose(run.model.scaler_mean, 0.0)
    np.testing.assert_allclose(run.model.scaler_scale, np.abs(raw).max(axis=0), rtol=0.5)  # test ⊂ range


def test_the_old_standardize_key_says_what_replaced_it(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("data:\n  standardize: false\n")
    with pytest.raises(ConfigError, match=r"data.scaling: standard .* or none"):
        load_config(config)


def far_dataset(scaling: str = "standard") -> Dataset:
    """Column 'ink' is 0 in all training rows but one, and 8 in one validation row."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    X[:, 1] = 0.0
    X[0, 1] = 1.0
    val = np.array([[0.0, 8.0], [0.1, 0.0]])
    offset, scale = splits.fit_scaling(scaling, X)
    y = np.arange(100) % 2
    return Dataset(
        X_train=(X - offset) / scale,
        y_train=y,
        X_val=(val - offset) / scale,
        y_val=np.array([0, 1]),
        X_test=(val[1:] - offset) / scale,
        y_test=np.array([0]),
        classes=np.array([0, 1]),
        feature_names=["noise", "ink"],
        scaler_mean=offset,
        scaler_scale=scale,
        scaling=scaling,
    )


def test_a_feature_scaled_far_outside_training_is_named_with_its_worst_row_and_the_fix():
    note = spread_note(far_dataset())
    assert note is not None
    assert "feature 'ink'" in note
    assert "a validation row scales to 80.3" in note  # (8 - 0.01) / 0.0995
    assert "data.scaling: maxabs or minmax" in note


def test_no_spread_note_when_every_row_stays_near_the_training_range():
    assert far_values(far_dataset("maxabs")) == []  # 8 / 1: eight training ranges out, within the limit
    assert spread_note(dataclasses.replace(far_dataset(), X_val=np.zeros((2, 2)))) is None


def test_standardized_digits_name_the_border_pixel_before_the_first_epoch(tmp_path):
    args = ["train", str(ROOT / "configs" / "digits.yaml"), "data.scaling=standard", "train.epochs=1"]
    args += ["gradcheck.enabled=false", "output.plots=false", f"output.dir={tmp_path}"]
    result = CliRunner().invoke(app, args, terminal_width=400)
    assert result.exit_code == 0, result.output
    assert "note: feature 'pixel_6_0' barely varies in the training rows" in result.stderr
    assert result.output.index("barely varies") < result.output.index("epoch 0:")


def test_the_shipped_digits_config_has_no_spread_note(tmp_path):
    loaded = load_config(ROOT / "configs" / "digits.yaml")
    assert spread_note(load_dataset(loaded.config.data, loaded.config.seed)) is None
