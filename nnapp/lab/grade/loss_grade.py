"""Grading a returned loss (a `Class.method` that returns (loss, grads)) against J."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnapp.core import mistakes
from nnapp.lab.grade import slips
from nnapp.lab.grade.answers import Returned
from nnapp.lab.grade.cases import Case
from nnapp.lab.grade.problems import penalty
from nnapp.lab.grade.report import LossGrade


def judge_loss(calls: Sequence[Returned], cases: Sequence[Case], tolerance: float) -> LossGrade:
    """The returned loss against J on every problem, with the catalogue's loss mistakes by name."""
    if any(c.loss is None for c in calls):
        return LossGrade(False, float("inf"), "no loss returned")
    got = np.array([float(c.loss) for c in calls])  # type: ignore[arg-type]
    want = np.array([c.loss for c in cases])
    err = slips.error(got, want)
    if err <= tolerance:
        return LossGrade(True, err)
    batches = np.array([c.problem.dims["B"] for c in cases], dtype=float)
    no_half = want + np.array([penalty(c.problem.params(), c.weight_decay) for c in cases])
    if cases[0].weight_decay > 0 and np.allclose(got, no_half, rtol=1e-9):
        text = (
            "the loss's L2 term is λ(‖W‖² + ‖U‖²), twice nnapp's (λ/2)(‖W‖² + ‖U‖²) "
            f"[catalogue: l2_no_half: {mistakes.get('l2_no_half').what}]"
        )
    elif np.allclose(got, want * batches, rtol=1e-6):
        text = (
            "the loss is the sum over the batch, B times J = the mean cross-entropy "
            f"[catalogue: sum_not_mean: {mistakes.get('sum_not_mean').what}]"
        )
    else:
        text = (
            f"the loss is {got[0]:.6g} where J = {want[0]:.6g} (first problem): "
            "J = mean over the batch of −log ŷ[y]"
        )
    return LossGrade(False, err, text)
