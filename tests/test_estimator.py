"""nnapp.Classifier: a scikit-learn estimator over nnapp's own trainer."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _shared import local_dask_client
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnapp import Classifier
from nnapp.data.arrays import from_arrays
from nnapp.training.trainer import train

ROOT = Path(__file__).resolve().parents[1]
X_IRIS, Y_IRIS = load_iris(return_X_y=True)
FAST = {"epochs": 15, "hidden": 8, "gradcheck_every": 0}  # a small, quick fit (the final check only)

# scikit-learn's suite in its own interpreter: SCIPY_ARRAY_API=1 lets its array-API check run (it skips
# without it), and must be set before scipy is imported, which this process has done already.
CHECK_ESTIMATOR = """
import json, sys
from sklearn.utils.estimator_checks import check_estimator
from nnapp import Classifier
from nnapp.data.arrays import from_arrays
results = check_estimator(Classifier(epochs=20, gradcheck_every=0), on_fail=None)
print(json.dumps([[r["check_name"], r["status"], repr(r["exception"])[:300]] for r in results]))
"""


def test_every_check_of_scikit_learns_estimator_suite_passes():
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHECK_ESTIMATOR], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.splitlines()[-1])
    assert len(results) >= 50
    assert [r for r in results if r[1] != "passed"] == []


def test_labels_of_any_kind_come_back_as_given():
    names = np.array(["setosa", "versicolor", "virginica"])[Y_IRIS]
    clf = Classifier(**FAST, random_state=0).fit(X_IRIS, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(clf.predict(X_IRIS)) <= set(clf.classes_)
    odd = np.array([-7, 10, 42])[Y_IRIS]
    clf = Classifier(**FAST, random_state=0).fit(X_IRIS, odd)
    assert clf.classes_.tolist() == [-7, 10, 42]
    assert clf.score(X_IRIS, odd) > 0.8


def test_a_bad_parameter_gets_the_config_validators_message_naming_it():
    with pytest.raises(ValueError, match=r"Classifier\(lr=...\): optim.lr must be > 0 \(got -1\)"):
        Classifier(lr=-1).fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match=r"optim.schedule must be one of .*did you mean 'cosine'"):
        Classifier(schedule="cosin").fit(X_IRIS, Y_IRIS)


def test_parameters_are_stored_unchanged():
    grid_value = np.float64(0.05)
    clf = Classifier(lr=grid_value, random_state=np.random.RandomState(1))
    assert clf.get_params()["lr"] is grid_value
    assert isinstance(clf.get_params()["random_state"], np.random.RandomState)


def test_fitted_attributes_describe_the_training():
    clf = Classifier(**FAST, random_state=0).fit(X_IRIS, Y_IRIS)
    assert clf.n_iter_ == 15 and len(clf.loss_curve_) == 15
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.validation_scores_ is None  # no early stopping, no validation rows
    assert clf.n_features_in_ == 4
    assert (clf.W_.shape, clf.b1_.shape, clf.U_.shape, clf.b2_.shape) == ((8, 4), (8,), (3, 8), (3,))
    assert [c.when for c in clf.gradcheck_] == ["final"]  # gradcheck_every=0: the returned weights only
    assert all(c.report.verdict == "pass" for c in clf.gradcheck_)


def test_early_stopping_holds_out_validation_rows_and_keeps_the_best_epoch():
    clf = Classifier(epochs=300, early_stopping=True, patience=3, lr=0.5, random_state=0)
    clf.fit(X_IRIS, Y_IRIS)
    assert clf.n_iter_ < 300
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_epoch_ == clf.n_iter_ - 3


def test_feature_names_come_from_a_dataframe():
    import pandas

    frame = pandas.DataFrame(X_IRIS, columns=["sl", "sw", "pl", "pw"])
    clf = Classifier(**FAST, random_state=0).fit(frame, Y_IRIS)
    assert clf.feature_names_in_.tolist() == ["sl", "sw", "pl", "pw"]
    assert clf.model_.feature_names == ["sl", "sw", "pl", "pw"]


def test_the_same_random_state_gives_the_same_model_byte_for_byte():
    first = Classifier(**FAST, random_state=7).fit(X_IRIS, Y_IRIS)
    second = Classifier(**FAST, random_state=7).fit(X_IRIS, Y_IRIS)
    other = Classifier(**FAST, random_state=8).fit(X_IRIS, Y_IRIS)
    for name in ("W_", "b1_", "U_", "b2_"):
        assert getattr(first, name).tobytes() == getattr(second, name).tobytes()
    assert first.W_.tobytes() != other.W_.tobytes()


def test_pickle_and_clone_round_trips_keep_predictions():
    clf = Classifier(**FAST, random_state=0).fit(X_IRIS, Y_IRIS)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X_IRIS), clf.predict_proba(X_IRIS))
    refit = clone(clf).fit(X_IRIS, Y_IRIS)
    np.testing.assert_array_equal(refit.predict_proba(X_IRIS), clf.predict_proba(X_IRIS))


def test_partial_fit_trains_one_more_epoch_per_call_from_where_it_stopped():
    clf = Classifier(hidden=8, gradcheck=False, random_state=0)
    with pytest.raises(ValueError, match="classes must be given"):
        clf.partial_fit(X_IRIS, Y_IRIS)
    for _ in range(3):
        clf.partial_fit(X_IRIS[::2], Y_IRIS[::2], classes=[0, 1, 2])
    clf.partial_fit(X_IRIS[:10], Y_IRIS[:10])  # one class only in this batch: fine, the classes are known
    assert clf.n_iter_ == 4 and len(clf.loss_curve_) == 4
    assert clf.score(X_IRIS, Y_IRIS) > 0.7
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X_IRIS[:3], [0, 1, 5])


def test_fit_runs_the_trainer_of_nnapp_train():
    clf = Classifier(**FAST, random_state=3).fit(X_IRIS, Y_IRIS)
    data = from_arrays(X_IRIS, Y_IRIS, val_size=0.0, seed=3)
    data.X_val, data.y_val = data.X_train, data.y_train
    result = train(clf.to_config(3), data, [])
    seen = [result.params[name] for name in ("W", "b1", "U", "b2")]
    for mine, theirs in zip((clf.W_, clf.b1_, clf.U_, clf.b2_), seen, strict=True):
        assert mine.tobytes() == theirs.tobytes()


def test_without_early_stopping_it_keeps_the_epoch_of_the_lowest_training_cross_entropy():
    clf = Classifier(**FAST, random_state=3).fit(X_IRIS, Y_IRIS)
    history = clf._result.history  # validation is on the training rows: measured once, as training
    assert all(r.val_loss == r.train_ce and r.val_acc == r.train_acc for r in history)
    assert clf.best_epoch_ == min(history, key=lambda r: r.train_ce).epoch


def test_it_works_in_a_pipeline_a_grid_search_and_cross_validation():
    pipeline = make_pipeline(StandardScaler(), Classifier(**FAST, random_state=0))
    search = GridSearchCV(pipeline, {"classifier__hidden": [4, 8]}, cv=3, n_jobs=2).fit(X_IRIS, Y_IRIS)
    assert search.best_params_["classifier__hidden"] in (4, 8)
    assert search.best_score_ > 0.8
    scores = cross_val_score(Classifier(**FAST, random_state=0), X_IRIS, Y_IRIS, cv=3)
    assert len(scores) == 3 and scores.min() > 0.7


def test_importing_nnapp_and_its_command_line_does_not_import_scikit_learn():
    code = (
        "import sys, nnapp, nnapp.cli.app; print('sklearn' in sys.modules, 'nnapp.estimator' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


@pytest.fixture
def dask_client():
    with local_dask_client() as client:
        yield client


def test_a_search_on_a_dask_cluster_scores_as_one_process_does(dask_client):
    import joblib
    from distributed import get_task_stream

    grid = {"hidden": [4, 8], "lr": [0.05, 0.2]}
    local = GridSearchCV(Classifier(**FAST, random_state=0), grid, cv=3).fit(X_IRIS, Y_IRIS)
    with joblib.parallel_config(backend="dask"), get_task_stream(dask_client) as tasks:
        remote = GridSearchCV(Classifier(**FAST, random_state=0), grid, cv=3, n_jobs=-1).fit(X_IRIS, Y_IRIS)
    assert len({task["worker"] for task in tasks.data}) == 2  # the fits ran on both workers
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_


def test_from_run_predicts_what_nnapp_predict_does(tmp_path):
    from _shared import trained
    from typer.testing import CliRunner

    from nnapp.cli.app import app

    run_dir = trained("iris")
    names = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    rows = X_IRIS[::7]
    (tmp_path / "new.csv").write_text(
        ",".join(names) + "\n" + "".join(",".join(map(repr, row.tolist())) + "\n" for row in rows)
    )
    done = CliRunner().invoke(app, ["predict", str(run_dir), str(tmp_path / "new.csv"), "--proba"])
    assert done.exit_code == 0, done.output
    lines = [line.split(",") for line in done.stdout.splitlines()[1:]]
    clf = Classifier.from_run(run_dir)
    assert clf.predict(rows).tolist() == [line[0] for line in lines]
    np.testing.assert_array_equal(clf.predict_proba(rows), [[float(v) for v in line[1:]] for line in lines])
    assert (clf.n_iter_, clf.hidden, clf.lr, clf.early_stopping) == (3, 16, 0.05, True)  # configs/iris.yaml


def test_to_run_writes_a_run_that_evaluate_plot_and_gradcheck_accept(tmp_path):
    from typer.testing import CliRunner

    from nnapp.cli.app import app

    clf = Classifier(**FAST, random_state=0).fit(X_IRIS, Y_IRIS)
    run_dir = clf.to_run(tmp_path / "run", X_IRIS, Y_IRIS)
    runner = CliRunner()
    evaluated = runner.invoke(app, ["evaluate", str(run_dir)])
    assert evaluated.exit_code == 0, evaluated.output
    assert runner.invoke(app, ["plot", str(run_dir)]).exit_code == 0
    assert (run_dir / "report.md").is_file() and (run_dir / "curves.png").is_file()
    checked = runner.invoke(app, ["gradcheck", str(run_dir / "config.yaml"), "--run", str(run_dir)])
    assert checked.exit_code == 0, checked.output
    from nnapp import load_run

    run = load_run(run_dir)  # the same function of the raw rows, its scaler folded into W and b1
    np.testing.assert_allclose(run.predict_proba(X_IRIS), clf.predict_proba(X_IRIS), rtol=1e-9, atol=1e-12)
    assert [str(c) for c in run.predict(X_IRIS)] == [str(c) for c in clf.predict(X_IRIS)]


def test_from_config_takes_a_configs_training_keys_and_lets_parameters_override_them():
    clf = Classifier.from_config(ROOT / "configs" / "iris.yaml", epochs=5)
    assert (clf.hidden, clf.lr, clf.batch_size, clf.epochs, clf.patience) == (16, 0.05, 16, 5, 40)
    assert clf.early_stopping and clf.random_state == 0


def test_verbose_logs_each_epoch_to_the_nnapp_estimator_logger(caplog):
    with caplog.at_level("INFO", logger="nnapp.estimator"):
        Classifier(epochs=3, hidden=4, gradcheck=False, verbose=1, random_state=0).fit(X_IRIS, Y_IRIS)
    epochs = [r.getMessage().split(":")[0] for r in caplog.records]
    assert epochs == ["epoch 0", "epoch 1", "epoch 2", "epoch 3"]


def test_from_run_of_a_csv_run_takes_raw_rows_with_their_categories(tmp_path):
    from _shared import FLOWERS, trained
    from typer.testing import CliRunner

    from nnapp.cli.app import app

    lines = FLOWERS.read_text().splitlines()[:12]
    (tmp_path / "new.csv").write_text("\n".join(lines) + "\n")
    done = CliRunner().invoke(app, ["predict", str(trained("flowers_csv")), str(tmp_path / "new.csv")])
    assert done.exit_code == 0, done.output
    rows = [line.split(",")[:5] for line in lines[1:]]  # sepal/petal lengths and widths, garden
    clf = Classifier.from_run(trained("flowers_csv"))
    assert clf.predict(rows).tolist() == done.stdout.splitlines()[1:]


def test_a_diverging_fit_warns_with_the_trainers_message_and_keeps_finite_weights():
    from nnapp.estimator import TrainingStoppedWarning

    with pytest.warns(TrainingStoppedWarning, match="training diverged: runaway loss"):
        clf = Classifier(lr=50, epochs=20, gradcheck=False, random_state=0).fit(X_IRIS, Y_IRIS)
    assert clf.stop_reason_ == "diverged"
    assert np.isfinite(clf.predict_proba(X_IRIS)).all()
