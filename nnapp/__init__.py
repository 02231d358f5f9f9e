"""nnapp: a one-hidden-layer ReLU + softmax classifier with hand-derived, checked gradients.

The notebook API (imported on first use, so that `nnapp --help` stays fast):

    import nnapp
    run = nnapp.train("configs/iris.yaml", {"train.epochs": 100})   # or nnapp.load_run("runs/iris/...")
    run.summary.test_acc, run.history[-1], run.curves(), run.gradcheck_plot()
    run.predict([[5.1, 3.5, 1.4, 0.2]])   # raw features in the data's original units -> original labels
    print(run.evaluate("test"))
    nnapp.explain("configs/iris.yaml", row=3)   # every number of one example's forward and backward pass
    clf = nnapp.Classifier(hidden=16).fit(X, y)   # a scikit-learn estimator (Pipeline, GridSearchCV)
    nnapp.grade(my_gradients)             # my own gradients(x, y, W, b1, U, b2) against finite differences

Every mistake of the caller raises an `NnappError` (a subclass per kind) with a one-line message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnapp.version import __version__ as __version__

__all__ = [
    "ArgumentError",
    "ArtifactError",
    "Classifier",
    "Config",
    "ConfigError",
    "DataError",
    "Evaluation",
    "NnappError",
    "Run",
    "explain",
    "grade",
    "load_run",
    "train",
]

# where each public name lives; imported on first access (module __getattr__, PEP 562)
_HOMES = {
    "train": "nnapp.tools.notebook",
    "grade": "nnapp.lab.grade",
    "load_run": "nnapp.tools.notebook",
    "explain": "nnapp.lab.explain",
    "Run": "nnapp.tools.notebook",
    "Evaluation": "nnapp.tools.notebook",
    "Classifier": "nnapp.estimator",  # imports scikit-learn: only on first use
    "Config": "nnapp.config",
    "NnappError": "nnapp.errors",
    "ConfigError": "nnapp.errors",
    "DataError": "nnapp.errors",
    "ArtifactError": "nnapp.errors",
    "ArgumentError": "nnapp.errors",
}

if TYPE_CHECKING:
    from nnapp.config import Config
    from nnapp.errors import ArgumentError, ArtifactError, ConfigError, DataError, NnappError
    from nnapp.estimator import Classifier
    from nnapp.lab.explain import explain
    from nnapp.lab.grade import grade
    from nnapp.tools.notebook import Evaluation, Run, load_run, train


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'nnapp' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
