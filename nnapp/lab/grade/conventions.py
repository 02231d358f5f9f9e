"""How a learner's code holds the network's arrays: the layout of examples and the weights' orientation.

nnapp's own form (the canonical one every comparison starts from): rows are examples, X (B, D_x),
integer labels y (B,), W (D_h, D_x), b1 (D_h,), U (N_c, D_h), b2 (N_c,), and each gradient in its
parameter's shape (∂J/∂x in X's shape). A `Convention` turns canonical arrays into the learner's form.

- layout `column`: one example as column vectors, x (D_x, 1), one-hot y (N_c, 1), b1 (D_h, 1),
  b2 (N_c, 1): the derivation's own notation (docs/gradients.md).
- layout `rows`: X (B, D_x), integer labels y (B,), b1 (D_h,), b2 (N_c,); J the batch mean.
- layout `columns`: examples as columns (the Deep Learning Specialization's convention), X (D_x, B),
  one-hot Y (N_c, B), b1 (D_h, 1), b2 (N_c, 1); J the batch mean.
- weights `out-in` (the derivation's W (D_h, D_x), U (N_c, D_h)) or `in-out` (W (D_x, D_h), U (D_h, N_c),
  scores = X @ W + b1 as CS231n writes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from nnapp.errors import ChoiceError

TENSORS = ("U", "b2", "W", "b1", "x")  # the derivation's order, which a returned tuple follows
INPUTS = ("x", "y", "W", "b1", "U", "b2")  # the argument order of gradients(x, y, W, b1, U, b2)


class Layout(StrEnum):
    COLUMN = "column"
    ROWS = "rows"
    COLUMNS = "columns"


class Weights(StrEnum):
    OUT_IN = "out-in"
    IN_OUT = "in-out"


def parse_layout(value: str) -> Layout:
    try:
        return Layout(value)
    except ValueError:
        raise ChoiceError("layout", value, tuple(Layout)) from None


def parse_weights(value: str) -> Weights:
    try:
        return Weights(value)
    except ValueError:
        raise ChoiceError("weights", value, tuple(Weights)) from None


class Labels(StrEnum):
    ONEHOT = "onehot"  # y one-hot: (N_c, 1), (N_c, B) in the column layouts; (B, N_c) in rows
    INDEX = "index"  # integer class labels (B,)


def parse_labels(value: str, layout: Layout) -> Labels:
    """The labels' form; "" picks the layout's usual one (index for rows, one-hot for the column layouts)."""
    if not value:
        return Labels.INDEX if layout is Layout.ROWS else Labels.ONEHOT
    try:
        return Labels(value)
    except ValueError:
        raise ChoiceError("labels", value, tuple(Labels)) from None


@dataclass(frozen=True)
class Convention:
    layout: Layout = Layout.COLUMN
    weights: Weights = Weights.OUT_IN
    labels_form: Labels | None = None  # None: the layout's usual form

    @property
    def label_kind(self) -> Labels:
        return self.labels_form or parse_labels("", self.layout)

    @property
    def batched(self) -> bool:
        return self.layout is not Layout.COLUMN

    def describe(self) -> str:
        where = {
            Layout.COLUMN: "one example as column vectors",
            Layout.ROWS: "examples as rows, J the batch mean",
            Layout.COLUMNS: "examples as columns, J the batch mean",
        }[self.layout]
        orientation = "W is D_h×D_x" if self.weights is Weights.OUT_IN else "W is D_x×D_h (X @ W)"
        labels = "integer labels" if self.label_kind is Labels.INDEX else "one-hot labels"
        return f"layout {self.layout} ({where}), weights {self.weights} ({orientation}), {labels}"

    def learner_form(self, name: str, canonical: np.ndarray) -> np.ndarray:
        """A canonical parameter, gradient or input (`x`, `y` included) in the learner's form."""
        if name in ("W", "U"):
            return canonical.T if self.weights is Weights.IN_OUT else canonical
        if name in ("b1", "b2"):
            return canonical if self.layout is Layout.ROWS else canonical.reshape(-1, 1)
        if name == "x":
            return canonical if self.layout is Layout.ROWS else canonical.T
        raise KeyError(name)

    def labels(self, y: np.ndarray, n_classes: int) -> np.ndarray:
        if self.label_kind is Labels.INDEX:
            return y.copy()
        one_hot = np.eye(n_classes)[y]  # (B, N_c)
        return one_hot if self.layout is Layout.ROWS else one_hot.T

    def axis_names(self, name: str) -> tuple[str, ...]:
        """The dimension each axis of the learner's `name` has (its gradient has the same)."""
        batch = "B" if self.batched else "1"
        canonical = {
            "W": ("D_h", "D_x"),
            "U": ("N_c", "D_h"),
            "b1": ("D_h",),
            "b2": ("N_c",),
            "x": (batch, "D_x"),
        }[name]
        if name in ("W", "U") and self.weights is Weights.IN_OUT:
            return canonical[::-1]
        if name in ("b1", "b2") and self.layout is not Layout.ROWS:
            return (*canonical, "1")
        if name == "x" and self.layout is not Layout.ROWS:
            return canonical[::-1]
        return canonical

    def batch_word(self) -> str:
        return "m" if self.layout is Layout.COLUMNS else "B"
