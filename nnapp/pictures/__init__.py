"""Pictures of a run, drawn with matplotlib's object API on the Agg backend (no pyplot, no window).

Each `*new_figure` function takes plain records or arrays and returns a matplotlib Figure (a notebook shows
it as it is); each `*_png` is the same picture as PNG bytes (`png_bytes`), and artifacts decide where they
go. matplotlib is imported here only, so that the CLI starts fast.

The pictures are drawn in one module per kind: `curves` (loss and accuracy, overlays), `checks`
(gradient checks, confusion), `model` (decision regions, hidden units, first-layer weights), `sweep`,
`animation` (training.gif frames); `base` holds what they share. Everything public is re-exported here.
"""

from nnapp.pictures.base import LOG_CEILING, LOG_FLOOR, TENSOR_COLOURS, log_safe, png_bytes
from nnapp.pictures.checks import (
    TENSOR_MARKERS,
    confusion_figure,
    confusion_png,
    gradcheck_figure,
    gradcheck_png,
)
from nnapp.pictures.curves import curves_figure, curves_png, overlay_curves_figure, overlay_curves_png
from nnapp.pictures.diagnostics import diagnostics_figure, diagnostics_png
from nnapp.pictures.model import (
    MAX_UNIT_PANELS,
    confidence_image,
    decision_boundary_figure,
    hidden_units_figure,
    weight_images_figure,
)
from nnapp.pictures.sweep import SweepPoint, sweep_figure, sweep_png

__all__ = [
    "LOG_CEILING",
    "LOG_FLOOR",
    "MAX_UNIT_PANELS",
    "TENSOR_COLOURS",
    "TENSOR_MARKERS",
    "SweepPoint",
    "confidence_image",
    "confusion_figure",
    "confusion_png",
    "curves_figure",
    "curves_png",
    "decision_boundary_figure",
    "diagnostics_figure",
    "diagnostics_png",
    "gradcheck_figure",
    "gradcheck_png",
    "hidden_units_figure",
    "log_safe",
    "overlay_curves_figure",
    "overlay_curves_png",
    "png_bytes",
    "sweep_figure",
    "sweep_png",
    "weight_images_figure",
]
