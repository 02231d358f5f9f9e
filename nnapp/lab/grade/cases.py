"""One problem as the comparison sees it: the expected gradients, their kinks and every known mistake's
gradients, all in the learner's form (their convention's layout), with the loss J."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnapp.lab.grade import variants
from nnapp.lab.grade.conventions import TENSORS, Convention
from nnapp.lab.grade.problems import Expected, Problem


@dataclass(frozen=True)
class Case:
    """One problem as the comparison sees it: expected values and kinks in the learner's form."""

    problem: Problem
    want: dict[str, np.ndarray]
    skip: dict[str, np.ndarray]
    variants: dict[str, dict[str, np.ndarray]]  # variant key -> its gradients, learner's form
    right: dict[str, np.ndarray]  # the derivation's exact gradients, learner's form (for the kink note)
    convention: Convention
    loss: float
    weight_decay: float = 0.0


def make_case(
    problem: Problem, expected: Expected, convention: Convention, weight_decay: float = 0.0
) -> Case:
    """The problem's expected values and every known mistake's, in the learner's form; with an L2 term,
    each mistake's gradients carry the term's right gradient (λW, λU) besides its own error."""

    def form(grads: dict[str, np.ndarray], decayed: bool = True) -> dict[str, np.ndarray]:
        lam = weight_decay if decayed else 0.0
        extra = {"W": lam * problem.W, "U": lam * problem.U}
        return {n: convention.learner_form(n, grads[n] + extra.get(n, 0.0)) for n in TENSORS}

    every = (*variants.DELTA1_VARIANTS, *variants.DELTA2_VARIANTS, *variants.LOCAL_VARIANTS, variants.GE_MASK)
    mistaken = {v.key: form(v.grads(problem)) for v in every}
    mistaken.update({v.key: form(v.grads(problem), False) for v in variants.penalty_variants(weight_decay)})
    return Case(
        problem,
        form(expected.grads, False),
        {n: convention.learner_form(n, expected.kinks[n]) for n in TENSORS},
        mistaken,
        form(variants.right(problem)),
        convention,
        expected.loss,
        weight_decay,
    )
