"""A run directory's files, each declared once (RUN_FILES), the check that a resume can write every file
it will write, and the run key that ties its files to one run. Imports no other module of rundir.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from nnapp.config import Config
from nnapp.errors import ArtifactError


def run_key(cfg: Config) -> str:
    """What ties a run's model.npz, checkpoint.npz and summary.json to its config.yaml: a hash of every
    setting that shapes the numbers, except those a run may change or move without changing them
    (train.epochs: a resume extends it; data.path: its bytes are hashed apart; name, output.*)."""
    settings = cfg.to_dict()
    for key in ("name", "output"):
        settings.pop(key)
    settings["train"].pop("epochs")
    settings["data"].pop("path")
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RunFile:
    """One file of a run directory, declared once: its name, what it holds, which function writes it and
    which reads it back checked, whether a run (new or resumed) writes it, and, for a picture, its
    heading in report.md. Everything that names a run file takes the name from here."""

    name: str
    holds: str
    written_by: str
    read_by: str
    training: bool  # written by every run that gets that far, new or resumed (else: by a later command)
    caption: str | None = None  # a picture of the run: its heading in report.md
    reading: str = ""  # how to read a picture that is not self-explanatory, under its heading

    def variant(self, suffix: str) -> str:
        """The name for another split or source: saliency.csv -> saliency_val.csv ("" -> the name)."""
        stem, dot, extension = self.name.rpartition(".")
        return f"{stem}{suffix}{dot}{extension}"


CONFIG = RunFile("config.yaml", "the resolved config, YAML", "job._start_new", "runs.load_run", True)
CHECKPOINT = RunFile(
    "checkpoint.npz", "the TrainState, .npz + JSON", "CheckpointWriter", "checkpoint.load_checkpoint", True
)
SNAPSHOTS = RunFile("snapshots.npz", "parameter frames, .npz", "save_snapshots", "load_snapshots", True)
METRICS = RunFile("metrics.csv", "a row per epoch, CSV", "CheckpointWriter", "tables.read_history", True)
GRADCHECK = RunFile("gradcheck.csv", "gradient checks, CSV", "write_gradcheck", "tables.read_checks", True)
MODEL = RunFile("model.npz", "weights and encoding, .npz", "SavedModel.save", "model_file.load_model", True)
SUMMARY = RunFile("summary.json", "the run's results, JSON", "write_summary", "summary.read_summary", True)
_DRAWN = ("PNG", "outputs.write_run, report.redraw_run", "-", True)  # how every picture of a run is kept
CURVES = RunFile("curves.png", *_DRAWN, caption="Learning curves")
DIAGNOSTICS = RunFile(
    "diagnostics.png",
    *_DRAWN,
    caption="Inside training: update ratios, hidden units, gradient norms",
    reading="Left: how far each epoch's last step moved W and U (~1e-3 is healthy). Middle: units "
    "inactive on every training row (dead), active per row. Right: each tensor's full-data gradient norm.",
)
GRADCHECK_PICTURE = RunFile("gradcheck.png", *_DRAWN, caption="Gradient checks")
CONFUSION = RunFile("confusion.png", *_DRAWN, caption="Confusion matrix (test split)")
DECISION_BOUNDARY = RunFile(
    "decision_boundary.png",
    *_DRAWN,
    caption="Decision regions",
    reading="Colour: the predicted class, paler where its probability is lower. Dots: "
    "training rows; diamonds: test rows, ringed in red where the model is wrong.",
)
HIDDEN_UNITS = RunFile(
    "hidden_units.png",
    *_DRAWN,
    caption="Hidden units over the input plane",
    reading="Each panel is one hidden unit's activation relu(w_j·x + b1_j) over the plane: grey "
    "where the unit is off (no gradient flows through it), its hinge w_j·x + b1_j = 0 drawn. U: what one "
    "unit of activation adds to each class's logit; the decision regions are the sum of these half-planes.",
)
WEIGHTS = RunFile(
    "weights.png",
    *_DRAWN,
    caption="First-layer weights as images",
    reading="Each panel is one hidden unit's row of W as an image: red pixels raise the unit's input, "
    "blue ones lower it. Training starts from random weights, so after a short run much of each image is "
    "still that noise; grey pixels are constant in the training rows and never get a gradient.",
)
REPORT = RunFile("report.md", "Markdown", "report.report_markdown(ReportRecord)", "-", True)
# a folder, with output.tensorboard: true (or by nnapp export --tensorboard): TensorBoard's event files
TENSORBOARD = RunFile("tensorboard", "TensorBoard event files, a folder", "rundir.tensorboard", "-", False)
# written later, by the commands that read a finished run (per split or CSV: RunFile.variant)
ANIMATION = RunFile(
    "training.gif",
    "GIF",
    "nnapp animate (files.writing)",
    "-",
    False,
    caption="Training, animated (nnapp animate)",
)
SALIENCY = RunFile("saliency.csv", "CSV", "nnapp saliency", "-", False)
SALIENCY_PICTURE = RunFile(
    "saliency.png",
    "PNG",
    "nnapp saliency",
    "-",
    False,
    caption="Saliency: which inputs move the loss (nnapp saliency)",
)
ATTACK = RunFile("attack.csv", "CSV", "nnapp attack", "-", False)
ATTACK_EPS = RunFile("attack_eps.csv", "CSV", "nnapp attack", "-", False)
ATTACK_PICTURE = RunFile(
    "attack.png",
    "PNG",
    "nnapp attack",
    "-",
    False,
    caption="Adversarial examples: FGSM against random signs (nnapp attack)",
)
ATTACK_EXAMPLES = RunFile(
    "attack_examples.png", "PNG", "nnapp attack", "-", False, caption="FGSM examples (nnapp attack)"
)

RUN_FILES = (
    CONFIG,
    CHECKPOINT,
    SNAPSHOTS,
    METRICS,
    GRADCHECK,
    MODEL,
    SUMMARY,
    CURVES,
    DIAGNOSTICS,
    GRADCHECK_PICTURE,
    CONFUSION,
    DECISION_BOUNDARY,
    HIDDEN_UNITS,
    WEIGHTS,
    REPORT,
    TENSORBOARD,
    ANIMATION,
    SALIENCY,
    SALIENCY_PICTURE,
    ATTACK,
    ATTACK_EPS,
    ATTACK_PICTURE,
    ATTACK_EXAMPLES,
)
TRAINING_OUTPUTS = tuple(f for f in RUN_FILES if f.training)  # what a run (or a resume) may write
PICTURES = tuple(f for f in TRAINING_OUTPUTS if f.caption is not None)  # the pictures a run draws
# report.md shows these when present, in this order: a run's pictures, then the lab commands' (test split)
REPORTED = tuple(f for f in RUN_FILES if f.caption is not None)


def check_run_writable(run_dir: Path) -> None:
    """Before a resume writes anything: the folder must take new files and none of the run's outputs
    may be a directory, device or pipe (the rename would fail half-way, after the checkpoint and
    config.yaml were rewritten). ArtifactError naming the path."""
    if not os.access(run_dir, os.W_OK | os.X_OK):
        raise ArtifactError(f"{run_dir}: cannot write in this run directory (permission denied)")
    for output in TRAINING_OUTPUTS:
        path = run_dir / output.name
        if path.exists() and not path.is_file():
            raise ArtifactError(
                f"{path}: is not a regular file (a directory or a device?); the run cannot write it there"
            )
