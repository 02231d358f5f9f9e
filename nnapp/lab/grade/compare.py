"""Comparing what a learner's code returned with finite differences of J, and saying what is wrong.

Per tensor, in this order: not provided; not an array; wrong shape (slips.py); NaN or inf; then the
values, checked on every problem away from ReLU kinks. A wrong value is matched against known wrong
derivations (variants.py), earliest step first: a δ1 mistake makes every gradient after it wrong, so it is
said once for all of them; then a constant factor (2, −1, B, 1/B); then the step the tensor comes from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnapp.core import mistakes
from nnapp.lab.grade import loss_grade, slips, variants
from nnapp.lab.grade.answers import Returned
from nnapp.lab.grade.cases import Case
from nnapp.lab.grade.conventions import TENSORS, Convention, Layout
from nnapp.lab.grade.report import GradeReport, Overall, TensorGrade, Verdict

TOL = 1e-5  # finite differences of a right float64 gradient agree to about 1e-8 in this measure
# a right gradient computed in float32 (eps 1.2e-7) reads up to ~1e-5 here on entries near FLOOR;
# ~1000 float32 eps, still far below any known mistake's error (0.1 and more)
TOL_FLOAT32 = 1e-4
STEPS = {
    "U": "∂J/∂U = δ1ᵀ hᵀ (step 2)",
    "b2": "∂J/∂b2 = δ1ᵀ (step 2)",
    "W": "∂J/∂W = δ2ᵀ xᵀ (step 4)",
    "b1": "∂J/∂b1 = δ2ᵀ (step 4)",
    "x": "∂J/∂x = δ2 W (step 5)",
}


def _factor(name: str, got: list[np.ndarray], cases: Sequence[Case]) -> str:
    """'B', '1/B' or a number when got = c × expected on every problem (c constant, or B, or 1/B)."""
    ratios, batches = [], []
    for g, case in zip(got, cases, strict=True):
        w, skip = case.want[name], case.skip[name]
        keep = ~skip & (np.abs(w) > 1e-6)
        if not keep.any():
            continue
        c = float(g[keep] @ w[keep] / (w[keep] @ w[keep]))
        if slips.error(g, c * w, skip) > slips.MATCH:
            return ""
        ratios.append(c)
        batches.append(case.problem.dims["B"])
    if not ratios:
        return ""
    r, b = np.array(ratios), np.array(batches, dtype=float)
    if len(set(b)) > 1 and np.allclose(r, b, rtol=1e-6):
        return "B"
    if len(set(b)) > 1 and np.allclose(r, 1 / b, rtol=1e-6):
        return "1/B"
    if np.allclose(r, r[0], rtol=1e-6) and not np.isclose(r[0], 1.0):
        return f"{r[0]:.4g}"
    return ""


def _factor_words(name: str, factor: str, convention: Convention) -> str:
    m = convention.batch_word()
    if factor == "B" and name == "x" and convention.layout is Layout.COLUMNS:
        return (
            "∂J/∂x is m times the mean loss's: dA_prev = Wᵀ dZ propagated unscaled, as the Deep Learning "
            "Specialization does; the mean loss's ∂J/∂x divides by m (dZ already carries 1/m)"
        )
    if factor == "B":
        return (
            f"∂J/∂{name} is {m} times too large: summed over the batch instead of averaging "
            f"(J is the mean, so δ1 = (ŷ − y)/{m}) "
            "[catalogue: no_1_over_B, or sum_not_mean if the loss sums too]"
        )
    if factor == "1/B":
        named = " [catalogue: b1_mean: " + mistakes.get("b1_mean").what + "]" if name == "b1" else ""
        return (
            f"∂J/∂{name} is divided by {m} once too often: averaged over the batch although δ1 already "
            f"carries the 1/{m}{named}"
        )
    if factor in ("-1", "-1.0"):
        return f"∂J/∂{name} has the wrong sign (−1 × the right value): {STEPS[name]}"
    return f"∂J/∂{name} is off by a constant factor {factor}: {STEPS[name]}"


def _matches(key: str, name: str, got: list[np.ndarray], cases: Sequence[Case]) -> bool:
    return all(slips.same(g, c.variants[key][name], c.skip[name]) for g, c in zip(got, cases, strict=True))


def _changes(key: str, name: str, cases: Sequence[Case]) -> bool:
    return any(not slips.same(c.variants[key][name], c.want[name], c.skip[name]) for c in cases)


def explain_values(
    wrong: dict[str, list[np.ndarray]],
    cases: Sequence[Case],
    convention: Convention,
    compared: Sequence[str],
    coarse: Sequence[str] = (),
) -> tuple[dict[str, str], list[str]]:
    """A diagnosis for every tensor of `wrong` (right shape, wrong values) and the findings, said once;
    `compared`: every tensor whose values were compared (right ones too); `coarse`: those that came
    back in a float type too coarse to grade (float16)."""
    diagnosis: dict[str, str] = {}
    findings: list[str] = []
    penalty = variants.penalty_variants(cases[0].weight_decay)
    for variant in (*variants.DELTA1_VARIANTS, *variants.DELTA2_VARIANTS, *penalty):
        affected = [n for n in TENSORS if _changes(variant.key, n, cases)]
        shown = [n for n in affected if n in wrong and n not in diagnosis]
        matched = [n for n in shown if _matches(variant.key, n, wrong[n], cases)]
        first = [n for n in affected if n in ("U", "b2", "W", "b1")][:2]
        if not matched or not all(n in matched for n in first if n in compared):
            continue
        rest = [n for n in shown if n not in matched]
        text = variant.explain() + f"; it makes {', '.join(matched)} wrong"
        if rest:
            verb = "is" if len(rest) == 1 else "are"
            text += f". {', '.join(rest)} {verb} wrong too: fix this step first, then grade again"
        findings.append(text)
        for n in shown:
            diagnosis[n] = (
                variant.explain() if n in matched else "follows from an earlier wrong step; fix that first"
            )
    zeros = [n for n, got in wrong.items() if n not in diagnosis and all(not g.any() for g in got)]
    if zeros:
        text = f"{', '.join(zeros)}: all zeros; not computed yet (a template's placeholder)?"
        findings.append(text)
        diagnosis.update({n: text for n in zeros})
    factors = {n: _factor(n, got, cases) for n, got in wrong.items() if n not in diagnosis}
    shared = {f for f in factors.values()}
    if len(factors) >= 3 and len(shared) == 1 and "" not in shared:
        (factor,) = shared
        text = f"every wrong gradient ({', '.join(factors)}) is off by the same factor {factor}: " + (
            _factor_words("U", factor, convention) if factor in ("B", "1/B") else "δ1 (step 1) carries it"
        )
        findings.append(text)
        diagnosis.update({n: text for n in factors})
    for name, got in wrong.items():
        if name in diagnosis:
            continue
        local = next(
            (
                v
                for v in variants.LOCAL_VARIANTS
                if _changes(v.key, name, cases) and _matches(v.key, name, got, cases)
            ),
            None,
        )
        if local is not None:
            diagnosis[name] = local.explain()
        elif factors.get(name):
            diagnosis[name] = _factor_words(name, factors[name], convention)
        elif name in coarse:
            diagnosis[name] = (
                f"∂J/∂{name} is float16, about 3 significant digits: its rounding alone is larger than "
                "the grading tolerance, so the derivation cannot be checked; compute in float64"
            )
        else:
            diagnosis[name] = f"wrong values; no known mistake matches: check {STEPS[name]}"
        findings.append(f"{name}: {diagnosis[name]}")
    return diagnosis, findings


def _earliest(wrong: Sequence[str], right: Sequence[str]) -> str:
    """Where to look first when the mistakes were not recognised, from which tensors are right."""
    if not wrong:
        return ""
    if "U" in right and "b2" in right and {"W", "b1", "x"} & set(wrong) == set(wrong):
        return "U and b2 are right, so δ1 is right; the mistake is at or after δ2 = δ1 U ⊙ sgn(h) (step 3)"
    if {"U", "b2"} <= set(wrong):
        return "U and b2 are both wrong: look at δ1 = ŷ − y first (step 1); everything after it inherits it"
    return ""


def _first_problem(name: str, calls: Sequence[Returned], cases: Sequence[Case]) -> str:
    """The diagnosis of what keeps `name` from a value comparison (wrong type, wrong shape), or ""."""
    for returned, case in zip(calls, cases, strict=True):
        if name in returned.oversized:
            return slips.too_large(name, returned.oversized[name], case.convention, case.problem)
        if name in returned.wrong_types:
            kind = returned.wrong_types[name]
            hint = ": did the function forget to return it?" if kind == "NoneType" else ""
            return f"∂J/∂{name} came back as a {kind}, not an array of numbers{hint}"
        got, want = returned.arrays[name], case.want[name]
        if got.shape != want.shape:
            return slips.diagnose_shape(name, got, want, case.convention, case.problem, case.skip[name])
    return ""


def _nonfinite(name: str, calls: Sequence[Returned]) -> str:
    for returned in calls:
        a = returned.arrays[name]
        if not np.isfinite(a).all():
            kind = "NaN" if np.isnan(a).any() else "inf"
            return (
                f"∂J/∂{name} contains {kind}: never a pass. Often exp(θ) overflowing in the softmax "
                f"(subtract the max of θ first), a log of 0, or 0/0"
            )
    return ""


def _unsteady(name: str, calls: Sequence[Returned], repeat: Returned | None) -> str:
    """Called twice on the same problem, the function must give the same answer."""
    if repeat is None or name not in repeat.arrays or name not in calls[0].arrays:
        return ""
    first, again = calls[0].arrays[name], repeat.arrays[name]
    if first.shape == again.shape and np.array_equal(first, again, equal_nan=True):
        return ""
    return (
        f"∂J/∂{name} changes when the function is called again on the same input: it keeps state between "
        f"calls (adds into an array kept from an earlier call?) [catalogue: accumulate_into_out: "
        f"{mistakes.get('accumulate_into_out').what}]"
    )


def judge(
    cases: Sequence[Case],
    calls: Sequence[Returned],
    required: tuple[str, ...] = TENSORS,
    repeat: Returned | None = None,
    graded_loss: bool = False,
) -> GradeReport:
    """The report for the learner's answers `calls` (one per case, same order); `repeat`: the first
    case's answer again, from a second call."""
    convention = cases[0].convention
    tensors: dict[str, TensorGrade] = {}
    findings: list[str] = []
    comparable: dict[str, list[np.ndarray]] = {}
    wrong_values: dict[str, list[np.ndarray]] = {}
    errors: dict[str, float] = {}
    for name in TENSORS:
        expected_shape = tuple(cases[0].want[name].shape)
        if not all(name in c.arrays or name in c.wrong_types or name in c.oversized for c in calls):
            if name in required:
                tensors[name] = TensorGrade(
                    name, Verdict.NOT_PROVIDED, None, expected_shape, None, "not provided"
                )
            continue
        first = calls[0].arrays.get(name)
        shape = calls[0].oversized.get(name) if first is None else tuple(first.shape)
        text = _first_problem(name, calls, cases) or _nonfinite(name, calls) or _unsteady(name, calls, repeat)
        if text:
            err = (
                None if first is None or shape != expected_shape else slips.error(first, cases[0].want[name])
            )
            tensors[name] = TensorGrade(name, Verdict.FAIL, shape, expected_shape, err, text)
            findings.append(f"{name}: {text}")
            continue
        got = [c.arrays[name] for c in calls]
        comparable[name] = got
        errors[name] = max(
            slips.error(g, c.want[name], c.skip[name]) for g, c in zip(got, cases, strict=True)
        )
        if errors[name] > _tolerance(name, calls):
            wrong_values[name] = got
    too_coarse = [n for n in wrong_values if _coarse(n, calls) == "float16"]
    diagnosis, value_findings = explain_values(wrong_values, cases, convention, list(comparable), too_coarse)
    for name, got in comparable.items():
        ok = name not in wrong_values
        verdict = Verdict.PASS if ok else Verdict.FAIL
        text = "" if ok else diagnosis[name]
        tensors[name] = TensorGrade(
            name, verdict, tuple(got[0].shape), tuple(cases[0].want[name].shape), errors[name], text
        )
    tensors = {n: tensors[n] for n in TENSORS if n in tensors}
    if convention.weights.value == "out-in" and all(
        n in tensors and tensors[n].diagnosis.startswith("transposed") for n in ("W", "U")
    ):
        findings.insert(
            0,
            "W and U are both transposed: if your code stores the weights input-major "
            "(scores = X @ W, W is D_x×D_h), grade it with --weights in-out",
        )
    reordered = slips.tuple_order(calls[0], cases[0].want)
    if reordered:
        findings.insert(0, reordered)
    right = [n for n, t in tensors.items() if t.verdict is Verdict.PASS]
    wrong = [n for n, t in tensors.items() if t.verdict is Verdict.FAIL]
    unexplained = any("no known mistake matches" in f for f in value_findings)
    lead = _earliest(wrong, right) if unexplained else ""
    loss = loss_grade.judge_loss(calls, cases, TOL) if graded_loss else None
    failed = bool(wrong) or (loss is not None and not loss.right)
    missing = any(t.verdict is Verdict.NOT_PROVIDED for t in tensors.values())
    overall = Overall.FAIL if failed else Overall.INCOMPLETE if missing or not tensors else Overall.PASS
    said = ([lead] if lead else []) + findings + value_findings
    if loss is not None and not loss.right:
        said.append(f"loss: {loss.diagnosis}")
    absent = [n for n, t in tensors.items() if t.verdict is Verdict.NOT_PROVIDED]
    notes = _notes(calls, cases, {n: g for n, g in comparable.items() if n not in wrong_values}, absent)
    sizes = ", ".join(f"{k}={v}" for k, v in cases[0].problem.dims.items())
    return GradeReport(
        overall, tensors, tuple(said), tuple(notes), convention, loss, len(cases), first_sizes=sizes
    )


def _coarse(name: str, calls: Sequence[Returned]) -> str:
    """The coarsest float type `name` came back in, when coarser than float64 ("" otherwise)."""
    kinds = {c.precision[name] for c in calls if name in c.precision}
    return min(kinds, key=lambda k: np.finfo(k).bits) if kinds else ""


def _tolerance(name: str, calls: Sequence[Returned]) -> float:
    return TOL_FLOAT32 if _coarse(name, calls) == "float32" else TOL


def _notes(
    calls: Sequence[Returned],
    cases: Sequence[Case],
    comparable: dict[str, list[np.ndarray]],
    missing: Sequence[str] = (),
) -> list[str]:
    notes = []
    mutated = sorted({n for c in calls for n in c.mutated})
    if mutated:
        notes.append(
            f"the function changed its input{'s' if len(mutated) > 1 else ''} {', '.join(mutated)} in place "
            "(e.g. `x -= ...` or `W *= ...`): a caller's arrays would change behind its back; work on copies"
        )
    coarse = {n: kind for n in TENSORS if (kind := _coarse(n, calls))}
    for kind in sorted(set(coarse.values())):
        which = ", ".join(n for n, k in coarse.items() if k == kind)
        graded = (
            f"graded to {TOL_FLOAT32:g} instead of {TOL:g}, float32's precision"
            if kind == "float32"
            else f"too coarse to check a derivation (graded to {TOL:g}, as float64)"
        )
        notes.append(f"{which} came back as {kind}: {graded}; compute in float64 for a gradient check")
    ignored = sorted({k for c in calls for k in c.ignored})
    if ignored:
        text = f"ignored returned keys that name no gradient: {', '.join(ignored)}"
        if missing:
            text += f" (if {ignored[0]} is ∂J/∂{missing[0]}, say so: --names {ignored[0]}={missing[0]})"
        notes.append(text)
    ge = variants.GE_MASK.key
    for name in ("W", "b1", "x"):
        if name not in comparable:
            continue
        case, got = cases[-1], comparable[name][-1]
        kink = case.skip[name]
        ge_values, right = case.variants[ge][name], case.right[name]
        if (
            kink.any()
            and slips.same(got[kink], ge_values[kink])
            and not slips.same(right[kink], ge_values[kink])
        ):
            notes.append(variants.GE_MASK.explain())
            break
    return notes
