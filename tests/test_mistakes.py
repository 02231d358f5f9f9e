"""The catalogue of derivation mistakes: every one that changes the gradient is caught by the epoch-0
check, before any step, on every shipped config; the invisible ones are documented and shown invisible.

Mistakes are planted into the function training really calls (`nnapp.core.network.backward`, through
`network.step_gradients`), never into a copy.
"""

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.config import load_config
from nnapp.core import mistakes, network
from nnapp.core.gradcheck import Verdict, check_gradients, one_hot
from nnapp.orchestration.job import load_data
from nnapp.tools.gradcheck_run import check_config
from nnapp.training import start, trainer

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))
runner = CliRunner()


@cache
def _setup(name: str):
    loaded = load_config(ROOT / "configs" / f"{name}.yaml", [])
    if loaded.config.data.dataset == "csv":  # the CSV config names its data relative to the project
        loaded = load_config(
            ROOT / "configs" / f"{name}.yaml", [f"data.path={ROOT / 'data' / 'flowers.csv'}"]
        )
    return loaded, load_data(loaded)


def _training_gradients(cfg, data, mistake: str | None):
    """dJ/dW, b1, U, b2, x by the training path at the initial parameters on the check's rows."""
    state = start.init_state(cfg, data)
    params = network.views(state.flat, *start.dimensions(data, cfg))
    rows = start.gradcheck_rows(cfg, data)
    X = data.X_train[rows].astype(np.float64)
    Y = one_hot(data.y_train[rows], data.n_classes)
    ws = network.Workspace.new(len(rows) + 1, cfg.model.hidden, data.n_classes)
    stale = np.ones_like(state.flat, dtype=np.float64)  # what a previous step leaves in training's buffer
    out = network.views(stale, *start.dimensions(data, cfg))
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    if mistake is None:
        grads = network.step_gradients(p64, X, Y, cfg.optim.weight_decay, ws, out, input_grad=True)
    else:
        with mistakes.planted(mistake):
            grads = network.step_gradients(p64, X, Y, cfg.optim.weight_decay, ws, out, input_grad=True)
    return {k: np.array(v) for k, v in grads.items()}


def _changes_the_gradient(cfg, data, mistake: str) -> bool:
    right, wrong = _training_gradients(cfg, data, None), _training_gradients(cfg, data, mistake)
    return any(not np.allclose(right[k], wrong[k], rtol=1e-9, atol=1e-12) for k in right)


def test_the_catalogue_names_at_least_ten_mistakes_each_with_one_sentence_of_math():
    assert len(mistakes.MISTAKES) >= 10
    assert len(mistakes.BY_NAME) == len(mistakes.MISTAKES)
    for m in mistakes.MISTAKES:
        assert m.what.endswith(".") and m.what.count(". ") == 0, m.name  # one sentence
        assert m.wrong and m.right
    invisible = {m.name for m in mistakes.MISTAKES if m.invisible}
    assert invisible == {"relu_mask_ge", "sum_not_mean", "l2_no_half"}
    for name in ("sum_not_mean", "l2_no_half"):
        assert "whatever loss the code computes" in mistakes.BY_NAME[name].invisible
    assert "z = 0 exactly" in mistakes.BY_NAME["relu_mask_ge"].invisible


@pytest.mark.parametrize("config", SHIPPED)
def test_every_visible_mistake_that_changes_the_gradient_is_caught_at_epoch_0(config):
    loaded, data = _setup(config)
    cfg = loaded.config
    caught = {}
    for m in mistakes.MISTAKES:
        changes = _changes_the_gradient(cfg, data, m.name)
        report = check_config(loaded, mistake=m.name).report
        if m.invisible:
            assert report.verdict == Verdict.PASS, (m.name, report.max_error)
            continue
        # which mistakes change the gradient at the initial parameters is itself part of the claim
        expected = (not m.weight_decay or cfg.optim.weight_decay > 0) and m.name != "decayed_biases"
        assert changes == expected, m.name
        if changes:
            caught[m.name] = report.verdict == Verdict.FAIL
    assert all(caught.values()), [name for name, ok in caught.items() if not ok]


def test_the_consistent_mistakes_change_the_gradient_and_still_pass():
    loaded, data = _setup("breast_cancer")  # weight decay 0.01: l2_no_half changes something
    for name in ("sum_not_mean", "l2_no_half"):
        assert _changes_the_gradient(loaded.config, data, name), name
        assert check_config(loaded, mistake=name).report.verdict == Verdict.PASS


def test_relu_mask_ge_differs_only_at_z_0_exactly_where_the_check_skips_a_kink():
    rng = np.random.default_rng(0)
    params = network.init_params(3, 4, 3, rng)
    X = rng.standard_normal((6, 3))
    X[0] = 0.0  # row 0: z = W 0 + b1 = 0 exactly in every unit (biases start at 0)
    y = np.array([0, 1, 2, 0, 1, 2])
    fwd = network.forward(params, X)
    right = network.backward(params, fwd, one_hot(y, 3), input_grad=False)
    right = {k: v.copy() for k, v in right.items()}
    wrong = mistakes.wrong_backward("relu_mask_ge", params, network.forward(params, X), one_hot(y, 3))
    assert not np.allclose(right["b1"], wrong["b1"])  # the gradients differ here...
    with mistakes.planted("relu_mask_ge"):
        report = check_gradients(params, X, y, coords=None, directional=False)
    b1 = next(t for t in report.tensors if t.name == "b1")
    assert b1.kinks == 4 and b1.checked == 0  # ...but every b1 coordinate is a kink there, and skipped
    assert report.verdict != Verdict.FAIL


def test_decayed_biases_is_caught_once_the_biases_have_moved():
    loaded, data = _setup("breast_cancer")
    cfg = loaded.config
    state = start.init_state(cfg, data)
    params = network.views(state.flat, *start.dimensions(data, cfg))
    params["b1"][:] = 0.1  # as after some training
    params["b2"][:] = [0.3, -0.3]
    with mistakes.planted("decayed_biases"):
        report = start.run_gradcheck(cfg, params, data, np.random.default_rng(0))
    assert report.verdict == Verdict.FAIL
    assert {t.name for t in report.tensors if t.verdict == Verdict.FAIL} >= {"b1", "b2"}


@pytest.mark.parametrize("config", SHIPPED)
@pytest.mark.parametrize("mistake", ["scaled_y", "forgot_y_last_class", "accumulate_into_out"])
def test_training_with_a_planted_mistake_stops_at_the_epoch_0_check_before_any_step(config, mistake):
    loaded, data = _setup(config)
    with mistakes.planted(mistake):
        result = trainer.train(loaded.config, data)
    assert result.stop_reason == "gradcheck_failed", result.message
    assert "gradient check failed at epoch 0" in result.message
    assert result.state.sgd.steps == 0 and result.state.epoch == 0


@pytest.mark.parametrize("config", SHIPPED)
def test_the_one_hot_branch_only_bug_of_issue_8_is_caught_at_epoch_0(config, monkeypatch):
    """delta1 -= 0.9 * y on the one-hot branch alone: what training runs, and the old check did not."""
    loaded, data = _setup(config)
    real_backward = network.backward

    def backward(params, fwd, y, *args, **kwargs):
        return real_backward(params, fwd, 0.9 * y if y.ndim == 2 else y, *args, **kwargs)

    monkeypatch.setattr(network, "backward", backward)
    result = trainer.train(loaded.config, data)
    assert result.stop_reason == "gradcheck_failed" and result.state.sgd.steps == 0


def test_planted_restores_the_real_functions_even_after_an_error():
    before = (network.backward, network.cross_entropy, network.l2_penalty)
    with pytest.raises(RuntimeError), mistakes.planted("sum_not_mean"):
        assert network.backward is not before[0] and network.cross_entropy is not before[1]
        raise RuntimeError
    assert (network.backward, network.cross_entropy, network.l2_penalty) == before


def test_cli_mistake_list_names_every_mistake(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(
        app, ["gradcheck", "configs/iris.yaml", "--mistake", "list"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    for m in mistakes.MISTAKES:
        assert m.name in result.output
    assert "no: finite differences differentiate" in result.output


def test_cli_mistake_shows_the_wrong_line_and_that_it_is_caught(monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["gradcheck", "configs/digits.yaml", "--mistake", "forgot_y_last_class"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 4, result.output
    assert "wrong: delta1[:, :-1] -= y[:, :-1]" in result.output
    assert "caught: the check fails" in result.output
    assert network.backward is mistakes._REAL["backward"]  # restored


def test_cli_invisible_mistake_says_so_and_passes(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(
        app, ["gradcheck", "configs/iris.yaml", "--mistake", "sum_not_mean"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "invisible to finite differences" in result.output and "not caught" in result.output


def test_cli_unknown_mistake_is_a_one_line_error(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["gradcheck", "configs/iris.yaml", "--mistake", "nope"])
    assert result.exit_code == 2
    assert "unknown" in result.output and "no_1_over_B" in result.output
