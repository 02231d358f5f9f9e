"""`nnapp compare`: nnapp and scikit-learn's MLPClassifier trained side by side on one split."""

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.config import Config, DataConfig, ModelConfig, OptimConfig, TrainConfig
from nnapp.core.network import predict_proba
from nnapp.data.datasets import load_dataset
from nnapp.errors import CompareError
from nnapp.tools.compare import comparable_config, compare, sklearn_settings
from nnapp.training.trainer import train

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
QUICK = ["train.epochs=3", "model.hidden=8"]


def _cfg(**optim) -> Config:
    return Config(
        data=DataConfig(dataset="iris"),
        model=ModelConfig(hidden=8),
        optim=OptimConfig(**optim),
        train=TrainConfig(epochs=3, batch_size=16),
    )


def test_weight_decay_maps_to_alpha_times_batch_size():
    settings = sklearn_settings(_cfg(weight_decay=0.001, lr=0.05, momentum=0.8))
    assert settings["alpha"] == pytest.approx(0.016)
    assert (settings["learning_rate_init"], settings["momentum"], settings["batch_size"]) == (0.05, 0.8, 16)
    assert settings["hidden_layer_sizes"] == (8,) and settings["max_iter"] == 3


def test_scikit_learn_never_stops_before_the_configured_epochs():
    settings = sklearn_settings(_cfg())
    assert settings["n_iter_no_change"] > settings["max_iter"] and not settings["early_stopping"]


@pytest.mark.parametrize(
    ("change", "key"), [({"schedule": "cosine"}, "optim.schedule"), ({"clip_norm": 1.0}, "optim.clip_norm")]
)
def test_settings_without_a_scikit_learn_counterpart_are_refused(change, key):
    with pytest.raises(CompareError, match=key):
        sklearn_settings(_cfg(**change))


def test_nnapp_side_runs_every_epoch_without_checks():
    cfg = comparable_config(_cfg())
    assert cfg.train.early_stopping.patience == 0 and not cfg.gradcheck.enabled


def test_both_trainers_run_the_same_epochs_on_the_same_split():
    cfg = _cfg(lr=0.05)
    result = compare(cfg, load_dataset(cfg.data, cfg.seed))
    assert result.nnapp.epochs == result.sklearn.epochs == 3
    assert result.nnapp.seconds > 0 and result.sklearn.seconds > 0


def test_nnapps_column_is_its_returned_model_scored_on_the_test_rows():
    cfg = _cfg(lr=0.05)
    data = load_dataset(cfg.data, cfg.seed)
    result = compare(cfg, data).nnapp
    trained = train(comparable_config(cfg), data)  # the same seed: the same weights, bit for bit
    probabilities = predict_proba(trained.params, data.X_test)
    assert result.test_acc == np.mean(probabilities.argmax(axis=1) == data.y_test)
    assert result.last_train_loss == pytest.approx(trained.history[-1].train_ce, rel=1e-9)


def test_scikit_learns_column_is_an_mlpclassifier_fitted_with_the_mapped_settings():
    from sklearn.neural_network import MLPClassifier

    cfg = _cfg(lr=0.05)
    data = load_dataset(cfg.data, cfg.seed)
    result = compare(cfg, data).sklearn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter is reached on purpose
        model = MLPClassifier(**sklearn_settings(cfg)).fit(data.X_train, data.y_train)
    assert result.test_acc == np.mean(model.predict(data.X_test) == data.y_test)
    p = model.predict_proba(data.X_train)
    assert result.last_train_loss == pytest.approx(-np.mean(np.log(p[np.arange(len(p)), data.y_train])))


def test_float32_compares_too():
    cfg = dataclasses.replace(_cfg(), model=ModelConfig(hidden=8, dtype="float32"))
    result = compare(cfg, load_dataset(cfg.data, cfg.seed))
    assert result.nnapp.epochs == result.sklearn.epochs == 3


def test_cli_prints_both_columns_and_the_speed_ratio():
    result = CliRunner().invoke(app, ["compare", str(CONFIGS / "iris.yaml"), *QUICK])
    assert result.exit_code == 0, result.output
    assert "scikit-learn" in result.output and "as fast" in result.output and "test accuracy" in result.output


def test_cli_refuses_a_schedule_scikit_learn_lacks_with_exit_code_2():
    result = CliRunner().invoke(app, ["compare", str(CONFIGS / "iris.yaml"), *QUICK, "optim.schedule=step"])
    assert result.exit_code == 2
    assert "override 'optim.schedule=step'" in result.output and "Traceback" not in result.output


def test_cli_names_a_missing_config_file():
    result = CliRunner().invoke(app, ["compare", "no/such.yaml"])
    assert result.exit_code == 2 and "no such config file" in result.output


def test_train_loss_is_shown_at_nnapps_best_and_last_epochs_and_at_scikit_learns_last():
    cfg = dataclasses.replace(_cfg(lr=0.5, momentum=0.9), train=TrainConfig(epochs=10, batch_size=16))
    data = load_dataset(cfg.data, cfg.seed)
    result = compare(cfg, data)
    history = train(comparable_config(cfg), data).history  # nnapp's own cross-entropy, epoch by epoch
    nn, sk = result.nnapp, result.sklearn
    assert nn.best_epoch is not None and nn.best_epoch < nn.epochs == 10  # the two epochs differ here
    assert nn.best_train_loss == pytest.approx(history[nn.best_epoch].train_ce, rel=1e-9)
    assert nn.last_train_loss == pytest.approx(history[-1].train_ce, rel=1e-9)
    assert nn.best_train_loss != pytest.approx(nn.last_train_loss)
    assert sk.best_train_loss is None and sk.last_train_loss is not None and sk.last_train_loss > 0


def test_cli_labels_which_epoch_each_train_loss_is_from():
    result = CliRunner().invoke(app, ["compare", str(CONFIGS / "iris.yaml"), *QUICK], terminal_width=200)
    assert result.exit_code == 0, result.output
    best = next(line for line in result.output.splitlines() if "train loss (CE), best-val epoch" in line)
    last = next(line for line in result.output.splitlines() if "train loss (CE), last epoch" in line)
    assert "(epoch " in best and best.rstrip(" │").endswith("-")  # scikit-learn has no best epoch
    assert len([cell for cell in last.split("│") if cell.strip()]) == 3  # label, nnapp, scikit-learn


def test_a_diverging_learning_rate_is_a_diverged_column_and_exit_3_never_a_traceback():
    result = CliRunner().invoke(
        app,
        ["compare", str(CONFIGS / "iris.yaml"), *QUICK, "train.epochs=20", "optim.lr=1000"],
        terminal_width=200,
    )
    assert result.exit_code == 3, result.output
    assert not isinstance(result.exception, ValueError) and "Traceback" not in result.output
    outcome = next(line for line in result.output.splitlines() if line.startswith("│ outcome"))
    assert outcome.rstrip(" │").endswith("diverged")  # the scikit-learn column
    assert "scikit-learn diverged: non-finite weights after its 20 epochs" in result.output
    assert "as fast" not in result.output  # nnapp stopped on the runaway loss: the times are not comparable
    assert "no speed ratio: nnapp stopped on diverging in epoch" in result.output
    assert result.output.strip().splitlines()[-1].startswith("error: ")
    assert "diverged (see the table)" in result.output.strip().splitlines()[-1]
