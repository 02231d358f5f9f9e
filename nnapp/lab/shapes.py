"""Every equation of the forward and backward pass with a config's concrete shapes (docs/gradients.md).

The derivation ends step 3 with a shape check, ∂J/∂z (1×D_h) = δ1 (1×N_c) · U (N_c×D_h) ⊙ sgn(h); this module
writes that check out for every line, once for one example (column vectors) and once for a
batch (rows are examples, what nnapp.core.network computes). Tests hold the batch shapes against the
arrays network.forward/backward actually return.
"""

from __future__ import annotations

from dataclasses import dataclass

from nnapp.config import LoadedConfig

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ShapeLine:
    stage: str  # "forward" | "backward"
    name: str  # the quantity, e.g. "∂J/∂W" (matches network's keys where there is one)
    equation: str
    operands: tuple[tuple[str, Shape], ...]  # the factors of the right-hand side, with their shapes
    result: Shape
    form: str = "{0}"  # the right-hand side with {k} where operand k goes, e.g. "{0} · {1} + {2}"


@dataclass(frozen=True)
class Dimensions:
    d_x: int  # input features (after one-hot encoding)
    d_h: int  # hidden units
    n_c: int  # classes
    batch: int  # rows per mini-batch


def fmt(shape: Shape) -> str:
    return "scalar" if shape == () else "(" + "×".join(str(n) for n in shape) + ")"


def example_lines(d: Dimensions) -> list[ShapeLine]:
    """One example, column vectors, gradients as row vectors (numerator layout), as derived."""
    x, h, c = d.d_x, d.d_h, d.n_c
    return [
        ShapeLine(
            "forward",
            "z",
            "z = W x + b1",
            (("W", (h, x)), ("x", (x, 1)), ("b1", (h, 1))),
            (h, 1),
            "{0} · {1} + {2}",
        ),
        ShapeLine("forward", "h", "h = ReLU(z)", (("z", (h, 1)),), (h, 1), "ReLU({0})"),
        ShapeLine(
            "forward",
            "θ",
            "θ = U h + b2",
            (("U", (c, h)), ("h", (h, 1)), ("b2", (c, 1))),
            (c, 1),
            "{0} · {1} + {2}",
        ),
        ShapeLine("forward", "ŷ", "ŷ = softmax(θ)", (("θ", (c, 1)),), (c, 1), "softmax({0})"),
        ShapeLine(
            "forward",
            "J",
            "J = CE(y, ŷ) = −Σ_k y_k log ŷ_k",
            (("y", (c, 1)), ("ŷ", (c, 1))),
            (),
            "CE({0}, {1})",
        ),
        ShapeLine("backward", "δ1", "δ1 = ∂J/∂θ = (ŷ − y)ᵀ", (("ŷ − y", (c, 1)),), (1, c), "({0})ᵀ"),
        ShapeLine(
            "backward", "∂J/∂U", "∂J/∂U = δ1ᵀ hᵀ", (("δ1ᵀ", (c, 1)), ("hᵀ", (1, h))), (c, h), "{0} · {1}"
        ),
        ShapeLine("backward", "∂J/∂b2", "∂J/∂b2 = δ1ᵀ", (("δ1ᵀ", (c, 1)),), (c, 1)),
        ShapeLine(
            "backward",
            "δ2",
            "δ2 = ∂J/∂z = δ1 U ⊙ sgn(h)",
            (("δ1", (1, c)), ("U", (c, h)), ("sgn(h)ᵀ", (1, h))),
            (1, h),
            "{0} · {1} ⊙ {2}",
        ),
        ShapeLine(
            "backward", "∂J/∂W", "∂J/∂W = δ2ᵀ xᵀ", (("δ2ᵀ", (h, 1)), ("xᵀ", (1, x))), (h, x), "{0} · {1}"
        ),
        ShapeLine("backward", "∂J/∂b1", "∂J/∂b1 = δ2ᵀ", (("δ2ᵀ", (h, 1)),), (h, 1)),
        ShapeLine("backward", "∂J/∂x", "∂J/∂x = δ2 W", (("δ2", (1, h)), ("W", (h, x))), (1, x), "{0} · {1}"),
    ]


def batch_lines(d: Dimensions) -> list[ShapeLine]:
    """A batch of B rows, mean loss: the form nnapp.core.network implements (biases are vectors)."""
    b, x, h, c = d.batch, d.d_x, d.d_h, d.n_c
    return [
        ShapeLine(
            "forward",
            "z",
            "Z = X Wᵀ + b1",
            (("X", (b, x)), ("Wᵀ", (x, h)), ("b1", (h,))),
            (b, h),
            "{0} · {1} + {2}",
        ),
        ShapeLine("forward", "h", "H = max(Z, 0)", (("Z", (b, h)),), (b, h), "max({0}, 0)"),
        ShapeLine(
            "forward",
            "θ",
            "Θ = H Uᵀ + b2",
            (("H", (b, h)), ("Uᵀ", (h, c)), ("b2", (c,))),
            (b, c),
            "{0} · {1} + {2}",
        ),
        ShapeLine("forward", "ŷ", "Ŷ = softmax(Θ) by row", (("Θ", (b, c)),), (b, c), "softmax({0}) by row"),
        ShapeLine(
            "forward", "J", "J = −(1/B) Σ_i log Ŷ[i, y_i]", (("Ŷ", (b, c)), ("y", (b,))), (), "CE({0}, {1})"
        ),
        ShapeLine(
            "backward", "δ1", "Δ1 = (Ŷ − Y) / B", (("Ŷ", (b, c)), ("Y", (b, c))), (b, c), "({0} − {1}) / B"
        ),
        ShapeLine("backward", "U", "∂J/∂U = Δ1ᵀ H", (("Δ1ᵀ", (c, b)), ("H", (b, h))), (c, h), "{0} · {1}"),
        ShapeLine("backward", "b2", "∂J/∂b2 = Σ_i Δ1[i, :]", (("Δ1", (b, c)),), (c,), "column sums of {0}"),
        ShapeLine(
            "backward",
            "δ2",
            "Δ2 = (Δ1 U) ⊙ [Z > 0]",
            (("Δ1", (b, c)), ("U", (c, h)), ("[Z > 0]", (b, h))),
            (b, h),
            "({0} · {1}) ⊙ {2}",
        ),
        ShapeLine("backward", "W", "∂J/∂W = Δ2ᵀ X", (("Δ2ᵀ", (h, b)), ("X", (b, x))), (h, x), "{0} · {1}"),
        ShapeLine("backward", "b1", "∂J/∂b1 = Σ_i Δ2[i, :]", (("Δ2", (b, h)),), (h,), "column sums of {0}"),
        ShapeLine("backward", "x", "∂J/∂X = Δ2 W", (("Δ2", (b, h)), ("W", (h, x))), (b, x), "{0} · {1}"),
    ]


def shape_check(line: ShapeLine) -> str:
    """'(1×16) = δ1 (1×3) · U (3×16) ⊙ sgn(h)ᵀ (1×16)': the result's shape = the right-hand side, shaped."""
    shaped = (f"{name} {fmt(shape)}" for name, shape in line.operands)
    return f"{fmt(line.result)} = " + line.form.format(*shaped)


def config_dimensions(loaded: LoadedConfig) -> Dimensions:
    """D_x (after one-hot encoding), D_h, N_c and B of a config; reads the data, not the split."""
    import numpy as np

    from nnapp.data.datasets import load_table

    cfg = loaded.config
    table = load_table(cfg.data, cfg.seed, loaded.path.parent if loaded.path else None)
    return Dimensions(table.X.shape[1], cfg.model.hidden, len(np.unique(table.y)), cfg.train.batch_size)
