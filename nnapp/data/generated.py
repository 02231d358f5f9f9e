"""Two-dimensional teaching datasets from TensorFlow Playground and CS231n, generated with numpy alone.

`spiral`: CS231n's spiral, `data.centers` arms (classes) of `n_samples / centers` points each, the
radius growing linearly from 0 to 1 as the angle turns 4 radians; `data.noise` is the standard
deviation of the Gaussian noise added to the angle (CS231n uses 0.2).
`xor`: the Playground's XOR, points uniform in the square [-1, 1]^2 kept a little off the axes,
class 1 where x*y > 0; `data.noise` is the standard deviation of Gaussian jitter added afterwards.
`gauss`: the Playground's two Gaussian blobs centred at (1, 1) and (-1, -1), each with standard
deviation 0.5 + `data.noise` per coordinate.

Every draw comes from `numpy.random.default_rng(seed)`: the same seed, the same points, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SPIRAL_TURN = 4.0  # radians each arm turns from the centre to the rim (CS231n)
XOR_PADDING = 0.05  # points this close to an axis are moved off it: the class of a point on an axis is moot
GAUSS_CENTRE = 1.0
GAUSS_BASE_STD = 0.5


def _class_sizes(n_samples: int, n_classes: int) -> list[int]:
    """`n_samples` split as evenly as possible over the classes (the first ones get the remainder)."""
    base, extra = divmod(n_samples, n_classes)
    return [base + (1 if k < extra else 0) for k in range(n_classes)]


def spiral(n_samples: int, noise: float, arms: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """CS231n's spiral: (X (n, 2), y (n,) in 0..arms-1)."""
    rng = np.random.default_rng(seed)
    points, labels = [], []
    for arm, size in enumerate(_class_sizes(n_samples, arms)):
        radius = np.linspace(0.0, 1.0, size)
        start = arm * 2 * np.pi / arms  # arms evenly spaced round the circle, whatever their number
        angle = np.linspace(start, start + SPIRAL_TURN, size) + rng.normal(0.0, noise, size)
        points.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        labels.append(np.full(size, arm))
    return np.concatenate(points), np.concatenate(labels)


def xor(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The Playground's XOR: class 1 in the first and third quadrants, before the jitter."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, (n_samples, 2))
    X += np.where(X >= 0, XOR_PADDING, -XOR_PADDING)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X + rng.normal(0.0, noise, X.shape), y


def gauss(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The Playground's two Gaussian blobs: class 0 round (1, 1), class 1 round (-1, -1)."""
    rng = np.random.default_rng(seed)
    sizes = _class_sizes(n_samples, 2)
    centres = np.repeat(
        np.array([[GAUSS_CENTRE, GAUSS_CENTRE], [-GAUSS_CENTRE, -GAUSS_CENTRE]]), sizes, axis=0
    )
    y = np.repeat(np.arange(2), sizes)
    return centres + rng.normal(0.0, GAUSS_BASE_STD + noise, (n_samples, 2)), y


GENERATORS: dict[str, Callable[[int, float, int, int], tuple[np.ndarray, np.ndarray]]] = {
    "spiral": lambda n, noise, centers, seed: spiral(n, noise, centers, seed),
    "xor": lambda n, noise, _centers, seed: xor(n, noise, seed),
    "gauss": lambda n, noise, _centers, seed: gauss(n, noise, seed),
}
USES_CENTERS = frozenset({"spiral"})  # data.centers is the number of arms; xor and gauss have two classes


def generate(
    name: str, n_samples: int, noise: float, centers: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The dataset `name` (one of GENERATORS) as float64 points and integer labels."""
    X, y = GENERATORS[name](n_samples, noise, centers, seed)
    return X.astype(np.float64), y


def n_classes(name: str, centers: int) -> int:
    return centers if name in USES_CENTERS else 2
