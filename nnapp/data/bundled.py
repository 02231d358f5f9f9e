"""scikit-learn's bundled datasets (iris, wine, breast_cancer, digits), read from the files its wheel ships.

`import sklearn` costs about a second (it imports scipy.stats), most of `nnapp train configs/iris.yaml`.
These four datasets are plain CSV files inside the installed package, so they are read here with numpy,
without importing scikit-learn; the feature and class names are scikit-learn's (tests compare both).
Returns None when the files are not where this expects them, and the caller asks scikit-learn.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

_CANCER = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal dimension",
)
FEATURE_NAMES: dict[str, list[str]] = {
    "iris": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
    "wine": [
        "alcohol",
        "malic_acid",
        "ash",
        "alcalinity_of_ash",
        "magnesium",
        "total_phenols",
        "flavanoids",
        "nonflavanoid_phenols",
        "proanthocyanins",
        "color_intensity",
        "hue",
        "od280/od315_of_diluted_wines",
        "proline",
    ],
    "breast_cancer": [f"mean {n}" for n in _CANCER]
    + [f"{n} error" for n in _CANCER]
    + [f"worst {n}" for n in _CANCER],
    "digits": [f"pixel_{row}_{col}" for row in range(8) for col in range(8)],
}
FILES = {"iris": "iris.csv", "wine": "wine_data.csv", "breast_cancer": "breast_cancer.csv"}


def data_dir() -> Path | None:
    """sklearn/datasets/data of the installed scikit-learn, found without importing it."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return folder if folder.is_dir() else None


def load(name: str) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """(X float64, original labels, feature names) of a bundled dataset, or None if not found."""
    folder = data_dir()
    if folder is None or name not in FEATURE_NAMES:
        return None
    if name == "digits":
        path = folder / "digits.csv.gz"
        if not path.is_file():
            return None
        with gzip.open(path, "rt") as handle:
            data = np.loadtxt(handle, delimiter=",")
        return data[:, :-1], data[:, -1].astype(int), FEATURE_NAMES[name]
    path = folder / FILES[name]
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
        data = np.loadtxt(handle, delimiter=",")
    n_rows, n_features, target_names = int(header[0]), int(header[1]), np.asarray(header[2:])
    if data.shape != (n_rows, n_features + 1):
        return None
    return data[:, :-1], target_names[data[:, -1].astype(int)], FEATURE_NAMES[name]
