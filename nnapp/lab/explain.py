"""Every number of one example's forward and backward pass, in the order docs/gradients.md derives them.

For one training row x (standardized, as training sees it) and its one-hot label y, at a config's
initial parameters or a trained run's: z, h, θ, ŷ, J, then δ1, ∂J/∂U, ∂J/∂b2, δ2, ∂J/∂W, ∂J/∂b1,
∂J/∂x, each in the derivation's column shapes (x is D_x×1, δ1 a 1×N_c row, each gradient in its
parameter's shape), with the equation it comes from. The numbers come from the plain reference path
(nnapp.core.reference) in float64 on a batch of that one row, whose mean loss is the row's own J.

`Explanation.text()`, `.markdown()` (LaTeX that renders in Jupyter and on GitHub) and `.json()` write it
out; a notebook shows the Markdown. Nothing here prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnapp.config import LoadedConfig, load_config
from nnapp.core import network, reference
from nnapp.data.tables import Dataset
from nnapp.errors import NnappError
from nnapp.orchestration.job import data_base_dir, load_data
from nnapp.rundir.runs import load_run, rebuild_dataset, run_params_for
from nnapp.training.start import dimensions, init_state

# Matrices with more entries than this along an axis show their first and last EDGE along it.
ELIDE_ABOVE = 8
EDGE = 3


@dataclass(frozen=True)
class Step:
    """One quantity of the derivation with its value in the derivation's shape."""

    key: str  # the JSON key: "z", "dU", ...
    symbol: str  # as docs/gradients.md writes it: "θ", "∂J/∂U"
    equation: str  # the right-hand side it comes from, "" for inputs and parameters
    latex: str  # symbol = equation in LaTeX
    value: np.ndarray  # float64, column shapes; J is 0-dimensional


@dataclass(frozen=True)
class Explanation:
    """One example's forward and backward pass, in the order of the derivation."""

    title: str  # which example
    where: str  # at which parameters, and the sizes
    steps: tuple[Step, ...]
    tiny: bool = False  # a hand-sized example: numbers shown with fewer digits

    def __getitem__(self, key: str) -> np.ndarray:
        for step in self.steps:
            if step.key == key:
                return step.value
        raise KeyError(key)

    def text(self) -> str:
        head = [self.title, self.where] if self.where else [self.title]
        return "\n".join([*head, "", *(_text_step(s, self.tiny) for s in self.steps)]).rstrip() + "\n"

    def markdown(self) -> str:
        parts = [f"**{self.title}**", "", *([self.where, ""] if self.where else [])]
        for step in self.steps:
            shape = " \\times ".join(str(n) for n in step.value.shape) or "1"
            parts += [
                f"${step.latex}$ &nbsp; (${shape}$)",
                "",
                "$$",
                _latex_matrix(step, self.tiny),
                "$$",
                "",
            ]
        return "\n".join(parts)

    def json(self) -> str:
        """Every array in full (column shapes) under its key; J a number."""
        lines = [f" {json.dumps(s.key)}: {json.dumps(s.value.tolist())}" for s in self.steps]
        return "{\n" + ",\n".join(lines) + "\n}\n"  # one key a line

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:  # how a notebook shows it
        return self.markdown()


def explain(
    config: str | Path | None = None,
    row: int = 0,
    run: str | Path | None = None,
    tiny: bool = False,
    overrides: list[str] | None = None,
) -> Explanation:
    """Training row `row` of a config's data at its initial parameters, or at the trained parameters of
    `run` (with or without a config); `tiny`: a hand-sized example (D_x = 2, D_h = 3, N_c = 2) instead."""
    if tiny:
        if config is not None or run is not None:
            raise NnappError("--tiny is its own example: give no CONFIG and no --run with it")
        return explain_example(*TINY, "A hand-sized example", "D_x = 2, D_h = 3, N_c = 2", tiny=True)
    if config is None and run is None:
        raise NnappError("give a CONFIG, a run (--run RUN), or --tiny")
    if isinstance(row, bool) or not isinstance(row, int | np.integer):
        raise NnappError("not a whole number", option="row", value=repr(row))
    loaded = load_config(config, overrides or []) if config is not None else None
    data, params, where = _data_and_params(loaded, Path(run) if run is not None else None)
    n_rows = len(data.y_train)
    if not 0 <= row < n_rows:
        raise NnappError(
            f"out of range: the training split has rows 0 to {n_rows - 1}", option="row", value=str(row)
        )
    label = data.classes[data.y_train[row]]
    title = f"Training row {row} of {data.name or 'the data'} (standardized), class {label}"
    where += f"; D_x = {data.n_features}, D_h = {params['W'].shape[0]}, N_c = {data.n_classes}"
    return explain_example(params, data.X_train[row], int(data.y_train[row]), title, "at " + where)


def _data_and_params(
    loaded: LoadedConfig | None, run_dir: Path | None
) -> tuple[Dataset, network.Params, str]:
    if loaded is None:  # a run on its own: its saved config, its data rebuilt and checked against it
        assert run_dir is not None
        saved = load_run(run_dir)
        return rebuild_dataset(saved), saved.params, f"the parameters of {saved.path}"
    data = load_data(loaded)
    dims = dimensions(data, loaded.config)
    if run_dir is not None:
        saved = load_run(run_dir)
        params = run_params_for(saved, loaded, data, dims, data_base_dir(loaded))
        return data, params, f"the parameters of {saved.path}"
    cfg = loaded.config
    params = network.views(init_state(cfg, data).flat, *dims)
    source = loaded.path or "the config"
    return data, params, f"the initial parameters of {source} (seed {cfg.seed}, {cfg.model.init} init)"


def explain_example(
    params: network.Params, x: np.ndarray, label: int, title: str, where: str, tiny: bool = False
) -> Explanation:
    """The steps for one example x (D_x,) with class index `label`, in float64."""
    p = {name: np.asarray(params[name], dtype=np.float64) for name in network.PARAM_NAMES}
    X = np.asarray(x, dtype=np.float64).reshape(1, -1)  # a batch of one row: its mean loss is its J
    n_classes = p["U"].shape[0]
    t = reference.trace(p, X)
    g = reference.gradients(p, X, np.array([label]))
    col, step = _column, Step
    return Explanation(
        title,
        where,
        (
            step("x", "x", "", "x", col(X[0])),
            step("y", "y", "one-hot label", r"y", col(np.eye(n_classes)[label])),
            step("W", "W", "", "W", p["W"].copy()),
            step("b1", "b1", "", "b_1", col(p["b1"])),
            step("U", "U", "", "U", p["U"].copy()),
            step("b2", "b2", "", "b_2", col(p["b2"])),
            step("z", "z", "W x + b1", "z = W x + b_1", col(t.z[0])),
            step("h", "h", "ReLU(z) = max(z, 0)", r"h = \mathrm{ReLU}(z) = \max(z, 0)", col(t.h[0])),
            step("theta", "θ", "U h + b2", r"\theta = U h + b_2", col(t.theta[0])),
            step("y_hat", "ŷ", "softmax(θ)", r"\hat{y} = \mathrm{softmax}(\theta)", col(t.y_hat[0])),
            step("J", "J", "−Σ_k y_k log ŷ_k", r"J = -\sum_k y_k \log \hat{y}_k", _scalar(p, X, label)),
            # for one example the derivation's steps 2 and 4 read dJ/db2 = delta1^T, dJ/db1 = delta2^T
            step(
                "delta1",
                "δ1",
                "∂J/∂θ = (ŷ − y)ᵀ",
                r"\delta_1 = \partial J / \partial \theta = (\hat{y} - y)^\top",
                g.b2.reshape(1, -1),
            ),
            step("dU", "∂J/∂U", "δ1ᵀ hᵀ", r"\partial J / \partial U = \delta_1^\top h^\top", g.U),
            step("db2", "∂J/∂b2", "δ1ᵀ", r"\partial J / \partial b_2 = \delta_1^\top", col(g.b2)),
            step(
                "delta2",
                "δ2",
                "∂J/∂z = δ1 U ⊙ sgn(h)ᵀ",
                r"\delta_2 = \partial J / \partial z = \delta_1 U \odot \mathrm{sgn}(h)^\top",
                g.b1.reshape(1, -1),
            ),
            step("dW", "∂J/∂W", "δ2ᵀ xᵀ", r"\partial J / \partial W = \delta_2^\top x^\top", g.W),
            step("db1", "∂J/∂b1", "δ2ᵀ", r"\partial J / \partial b_1 = \delta_2^\top", col(g.b1)),
            step(
                "dx", "∂J/∂x", "(δ2 W)ᵀ = Wᵀ δ2ᵀ", r"\partial J / \partial x = (\delta_2 W)^\top", col(g.x[0])
            ),
        ),
        tiny,
    )


def _column(vector: np.ndarray) -> np.ndarray:
    return np.asarray(vector, dtype=np.float64).reshape(-1, 1)


def _scalar(params: network.Params, X: np.ndarray, label: int) -> np.ndarray:
    return np.array(reference.loss(params, X, np.array([label])))


# A hand-sized example (D_x = 2, D_h = 3, N_c = 2) with one-decimal numbers, worked through on paper:
# z = (0.2, -0.2, 0.7), so the second hidden unit is off and its gradients are 0.
TINY: tuple[network.Params, np.ndarray, int] = (
    {
        "W": np.array([[0.5, -0.2], [-1.0, 0.3], [0.2, 0.4]]),
        "b1": np.array([0.1, 0.2, -0.3]),
        "U": np.array([[1.0, -0.5, 0.5], [-1.0, 0.5, 1.0]]),
        "b2": np.array([0.0, 0.1]),
    },
    np.array([1.0, 2.0]),
    0,
)


# ------------------------------------------------------------------------------------- writing it out


def _number(value: float, tiny: bool) -> str:
    return f"{value:.4g}" if tiny else f"{value:.5g}"


def _kept(n: int) -> list[int | None]:
    """The indices shown along an axis of length n; None where the middle is elided."""
    if n <= ELIDE_ABOVE:
        return list(range(n))
    return [*range(EDGE), None, *range(n - EDGE, n)]


def _grid(value: np.ndarray, tiny: bool, elided: tuple[str, str, str]) -> list[list[str]]:
    """The entries shown, as strings; `elided` are the marks for a skipped row, column, and both."""
    vertical, horizontal, both = elided
    matrix = value.reshape(value.shape[0], -1)
    rows = []
    for i in _kept(matrix.shape[0]):
        cells = []
        for j in _kept(matrix.shape[1]):
            if i is None:
                cells.append(both if j is None else vertical)
            else:
                cells.append(horizontal if j is None else _number(float(matrix[i, j]), tiny))
        rows.append(cells)
    return rows


def _text_step(step: Step, tiny: bool) -> str:
    shape = "×".join(str(n) for n in step.value.shape) or "scalar"
    head = f"{step.symbol} = {step.equation}" if step.equation else step.symbol
    head = f"{head}   ({shape})"
    if step.value.ndim == 0:
        return f"{head}\n  {_number(float(step.value), tiny)}\n"
    column = step.value.ndim == 2 and step.value.shape[1] == 1
    grid = _grid(step.value.T if column else step.value, tiny, ("⋮", "…", "⋱"))
    width = max(len(cell) for row in grid for cell in row)
    lines = ["  [ " + "  ".join(cell.rjust(width) for cell in row) + " ]" for row in grid]
    if column:  # a column vector, written as a transposed row to stay on one line
        lines[-1] += "ᵀ"
    return "\n".join([head, *lines]) + "\n"


def _latex_matrix(step: Step, tiny: bool) -> str:
    if step.value.ndim == 0:
        return f"J = {_number(float(step.value), tiny)}"
    column = step.value.shape[1] == 1
    grid = _grid(step.value.T if column else step.value, tiny, (r"\vdots", r"\cdots", r"\ddots"))
    body = r" \\ ".join(" & ".join(row) for row in grid)
    name = step.latex.split(" = ")[0]
    return f"{name} = \\begin{{bmatrix}} {body} \\end{{bmatrix}}" + ("^\\top" if column else "")
