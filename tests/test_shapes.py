"""The shapes `nnapp shapes` prints are the shapes nnapp.core.network actually computes."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nnapp.core.network import backward, forward, init_params
from nnapp.lab.shapes import Dimensions, batch_lines, example_lines, shape_check

dims = st.builds(Dimensions, st.integers(1, 6), st.integers(1, 7), st.integers(2, 5), st.integers(1, 9))


def computed(d: Dimensions) -> dict[str, tuple[int, ...]]:
    rng = np.random.default_rng(0)
    params = init_params(d.d_x, d.d_h, d.n_c, rng)
    X = rng.standard_normal((d.batch, d.d_x))
    y = rng.integers(0, d.n_c, d.batch)
    fwd = forward(params, X)
    grads = backward(params, fwd, y)
    B = d.batch
    delta1 = fwd.y_hat - np.eye(d.n_c)[y]
    delta2 = (delta1 @ params["U"]) * (fwd.z > 0)
    return {
        "z": fwd.z.shape,
        "h": fwd.h.shape,
        "θ": fwd.theta.shape,
        "ŷ": fwd.y_hat.shape,
        "J": np.shape(np.mean(fwd.log_norm)),
        "δ1": delta1.shape,
        "δ2": delta2.shape,
        **{name: grads[name].shape for name in ("W", "b1", "U", "b2", "x")},
        "B": (B,),
    }


@settings(max_examples=30, deadline=None)
@given(d=dims)
def test_batch_shapes_are_the_arrays_the_network_returns(d):
    actual = computed(d)
    for line in batch_lines(d):
        assert line.result == actual[line.name], line.equation


@settings(max_examples=30, deadline=None)
@given(d=dims)
def test_one_example_shapes_are_the_batch_shapes_of_one_row_in_column_form(d):
    one = computed(Dimensions(d.d_x, d.d_h, d.n_c, 1))
    by_name = {"∂J/∂U": "U", "∂J/∂b2": "b2", "∂J/∂W": "W", "∂J/∂b1": "b1", "∂J/∂x": "x"}
    for line in example_lines(d):
        key = by_name.get(line.name, line.name)
        assert int(np.prod(line.result)) == int(np.prod(one[key])), line.equation
        if key in ("W", "U"):
            assert line.result == one[key]  # weight gradients keep the weight's own shape


PRODUCTS = {
    "z",
    "θ",
    "∂J/∂U",
    "δ2",
    "∂J/∂W",
    "∂J/∂x",
    "U",
    "W",
    "x",
}  # lines whose first two factors multiply


@settings(max_examples=30, deadline=None)
@given(d=dims)
def test_every_product_has_matching_inner_dimensions(d):
    for line in example_lines(d) + batch_lines(d):
        if line.name not in PRODUCTS:
            continue
        (rows, inner), (inner_right, cols) = line.operands[0][1], line.operands[1][1]
        assert inner == inner_right, line.equation
        assert line.result == (rows, cols), line.equation


def test_the_seeds_shape_check_reads_as_in_the_seed():
    line = next(l for l in example_lines(Dimensions(4, 16, 3, 8)) if l.name == "δ2")
    assert shape_check(line) == "(1×16) = δ1 (1×3) · U (3×16) ⊙ sgn(h)ᵀ (1×16)"


def test_every_line_names_each_operand_once_in_its_right_hand_side():
    for line in example_lines(Dimensions(4, 16, 3, 8)) + batch_lines(Dimensions(4, 16, 3, 8)):
        check = shape_check(line)
        assert check.count("{") == 0, line.equation
        for name, _ in line.operands:
            assert name in check, line.equation
