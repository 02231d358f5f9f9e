"""Teaching-lab commands: saliency, attack, lr-find, explain."""

from pathlib import Path
from typing import Annotated

import typer

from nnapp.cli import render
from nnapp.cli.shell import ConfigArg, OverridesArg, command, out, read_run

SplitOption = Annotated[
    str, typer.Option("--split", help="Which split of the run's data to use: train, val or test.")
]


@command(
    name="saliency",
    epilog=(
        "Examples:\n\n"
        "  nnapp saliency runs/iris/20250101-120000\n\n"
        "  nnapp saliency runs/digits/20250101-120000 --split val"
    ),
)
def saliency_command(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `nnapp train`.", show_default=False)
    ],
    split: SplitOption = "test",
) -> None:
    """Mean |dJ/dx| per feature over a split (dJ/dx = delta2 W): which inputs move the loss most.

    J is each example's own cross-entropy. Writes saliency.csv (one row per feature: scaled and
    original units, one column per true class) and saliency.png (ranked bars; 8x8 images: one map per
    class) into the run directory (saliency_<split>.* for splits other than test).
    """
    from nnapp.lab.outputs import write_saliency
    from nnapp.lab.saliency import saliency

    run = read_run(run_dir)
    result = saliency(run, split)
    csv_path, png_path = write_saliency(run, result, split)
    out.print(render.saliency_table(result, split, csv_path))
    out.print(f"wrote {csv_path}, {png_path}", markup=False, soft_wrap=True)


@command(
    name="attack",
    epilog=(
        "Examples:\n\n"
        "  nnapp attack runs/digits/20250101-120000\n\n"
        "  nnapp attack runs/breast_cancer/20250101-120000 --eps 0,0.1,0.5,1"
    ),
)
def attack_command(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `nnapp train`.", show_default=False)
    ],
    eps: Annotated[
        str,
        typer.Option("--eps", help="Comma-separated step sizes ε ≥ 0, in scaled input units (data.scaling)."),
    ] = "0,0.05,0.1,0.2,0.3",
    split: SplitOption = "test",
) -> None:
    """FGSM: accuracy on x' = x + ε·sign(dJ/dx), next to the same ε with random signs (the control).

    ε is in scaled input units: ε × the feature's training scale (data.scaling) in its original
    units. Writes attack.csv (eps, accuracy_fgsm, accuracy_random), attack.png and, for 8x8 image
    data, attack_examples.png into the run directory (attack_<split>.* for splits other than test).
    """
    from nnapp.lab.attack import attack, parse_eps
    from nnapp.lab.outputs import write_attack

    eps_values = parse_eps(eps)  # before reading the run: a typo costs nothing
    run = read_run(run_dir)
    result = attack(run, eps_values, split)
    written = write_attack(run, result, split)
    out.print(render.attack_table(result, split))
    if len(result.feature_names) <= 10:
        largest = max(eps_values)
        per_feature = ", ".join(
            f"{name} {value:.3g}"
            for name, value in zip(result.feature_names, result.eps_original(largest), strict=True)
        )
        out.print(f"ε = {largest:g} in original units: {per_feature}", markup=False, soft_wrap=True)
    else:
        out.print(
            f"ε in each feature's original units (ε × its scale): {written[1].name}",
            markup=False,
            soft_wrap=True,
        )
    out.print(f"wrote {', '.join(p.name for p in written)} in {run.path}", markup=False, soft_wrap=True)


@command(
    name="lr-find",
    epilog=(
        "Examples:\n\n"
        "  nnapp lr-find configs/iris.yaml\n\n"
        "  nnapp lr-find configs/digits.yaml model.hidden=128"
    ),
)
def lr_find_command(
    config: ConfigArg,
    overrides: OverridesArg = None,
    steps: Annotated[int, typer.Option("--steps", help="Steps from lr 1e-6 to 10.")] = 100,
) -> None:
    """Learning-rate range test: from the config's initial weights, lr grows from 1e-6 to 10 each step.

    Loss per step, smoothed (EMA with bias correction), stopped at 4x its minimum; prints a suggested
    optim.lr and writes lr_find.csv and lr_find.png to <output.dir>/<name>-lr-find/<timestamp>/.
    """
    from nnapp.config import load_config
    from nnapp.lab.lr_find import range_test
    from nnapp.lab.outputs import write_lr_find
    from nnapp.orchestration.job import load_data

    loaded = load_config(config, overrides or [])
    data = load_data(loaded)
    result = range_test(loaded.config, data, steps, source=str(config))
    out_dir = write_lr_find(result, loaded)
    out.print(
        f"{len(result.lrs)} of {result.steps_planned} steps (stopped: {result.stop_reason}); "
        f"smoothed loss lowest at lr {result.min_lr:.3g}",
        markup=False,
        soft_wrap=True,
    )
    out.print(f"suggested optim.lr={result.suggestion:.3g}", markup=False, soft_wrap=True)
    out.print(f"rule: {result.rule}", markup=False, soft_wrap=True)
    out.print(f"wrote lr_find.csv, lr_find.png in {out_dir}", markup=False, soft_wrap=True)


@command(
    name="explain",
    epilog=(
        "Examples:\n\n"
        "  nnapp explain configs/iris.yaml --row 3\n\n"
        "  nnapp explain --run runs/iris/20250101-120000 --format markdown > row0.md\n\n"
        "  nnapp explain --tiny"
    ),
)
def explain_command(
    config: Annotated[
        Path | None, typer.Argument(help="YAML experiment config (optional with --run).", show_default=False)
    ] = None,
    overrides: OverridesArg = None,
    row: Annotated[int, typer.Option("--row", help="Which training row (0-based).")] = 0,
    run_dir: Annotated[
        Path | None, typer.Option("--run", help="At this run's trained parameters, not the initial ones.")
    ] = None,
    tiny: Annotated[
        bool, typer.Option("--tiny", help="A hand-sized example (D_x=2, D_h=3, N_c=2) to work on paper.")
    ] = False,
    output_format: Annotated[
        str, typer.Option("--format", help="text, or markdown (LaTeX for Jupyter and GitHub).")
    ] = "text",
    as_json: Annotated[
        bool, typer.Option("--json", help="Only a JSON object of every array, in full.")
    ] = False,
) -> None:
    """Every number of one example's forward and backward pass, with its shape and equation.

    In the derivation's order (docs/gradients.md): x, z, h, θ, ŷ, J, δ1, ∂J/∂U, ∂J/∂b2, δ2, ∂J/∂W, ∂J/∂b1,
    ∂J/∂x, for training row N as training sees it (standardized), at the config's initial parameters or
    a run's. Large matrices show their corners.
    """
    from nnapp.errors import ChoiceError
    from nnapp.lab.explain import explain

    if output_format not in ("text", "markdown"):
        raise ChoiceError("format", output_format, ("text", "markdown"))
    result = explain(config, row, run_dir, tiny, overrides)
    text = result.json() if as_json else result.markdown() if output_format == "markdown" else result.text()
    out.print(text, markup=False, emoji=False, soft_wrap=True, end="" if text.endswith("\n") else "\n")
