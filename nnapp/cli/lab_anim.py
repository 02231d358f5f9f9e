"""Teaching-lab command: animate (training.gif from a run's parameter snapshots)."""

from pathlib import Path
from typing import Annotated

import typer

from nnapp.cli.shell import command, out


@command(
    name="animate",
    epilog=(
        "Examples:\n\n"
        "  nnapp animate runs/spiral/20250101-120000\n\n"
        "  nnapp animate runs/digits/20250101-120000"
    ),
)
def animate_command(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `nnapp train`.", show_default=False)
    ],
) -> None:
    """Write RUN_DIR/training.gif: the model at each parameter snapshot (snapshots.npz) beside the
    loss curve, a marker at the frame's epoch.

    Two-feature data: the decision regions, shaded by probability, evolving. 8x8 image data (digits):
    every hidden unit's first-layer weights evolving. Other data is refused (exit 2). Drawn on demand:
    about a second per ten frames.
    """
    from nnapp.tools.animation import animate

    path = animate(run_dir)
    out.print(f"wrote {path}", markup=False, soft_wrap=True)
