"""A run's tables read back: metrics.csv as EpochRecords and gradcheck.csv as GradcheckRecords, each
row checked (cells, verdicts, epochs in order), after the run files' format line (files.read_run_text)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from nnapp.core.gradcheck import DirectionalCheck, GradcheckReport, TensorCheck, Verdict
from nnapp.errors import ArtifactError
from nnapp.rundir import files, runfiles
from nnapp.rundir.artifacts import GRADCHECK_COLUMNS
from nnapp.training.records import METRIC_COLUMNS, EpochRecord, GradcheckRecord


def read_history(run_dir: Path) -> list[EpochRecord]:
    """metrics.csv back into EpochRecords; a missing file or a bad cell is a one-line error."""
    path = Path(run_dir) / runfiles.METRICS.name
    rows = _read_rows(path, METRIC_COLUMNS)
    records: list[EpochRecord] = []
    for number, row in enumerate(rows, start=3):
        try:
            values = {k: float(row[k]) for k in METRIC_COLUMNS}
        except (TypeError, ValueError):
            raise ArtifactError(f"{path}: row {number} has a cell that is not a number") from None
        epoch = values.pop("epoch")
        previous = records[-1].epoch if records else -1
        if not (math.isfinite(epoch) and epoch == int(epoch) and previous < epoch <= 10**9):
            raise ArtifactError(
                f"{path}: row {number}: epoch {row['epoch']!r} is not a whole number after {previous}"
            )
        records.append(EpochRecord(epoch=int(epoch), **values))
    if not records:
        raise ArtifactError(f"{path}: no epochs recorded")
    return records


VERDICTS = tuple(v.value for v in Verdict)


def read_checks(run_dir: Path) -> list[GradcheckRecord]:
    """gradcheck.csv back into GradcheckRecords (enough for plots and reports: no worst index)."""
    path = Path(run_dir) / runfiles.GRADCHECK.name
    if not path.exists() and not path.is_symlink():
        return []
    grouped: dict[tuple[int, str], tuple[list[TensorCheck], list[DirectionalCheck]]] = {}
    for number, row in enumerate(_read_rows(path, GRADCHECK_COLUMNS), start=3):
        try:
            epoch, checked, kinks = int(row["epoch"]), int(row["checked"]), int(row["kinks"])
            error = float(row["max_error"])
        except (TypeError, ValueError):
            raise ArtifactError(f"{path}: row {number} has a cell that is not a number") from None
        if row["verdict"] not in VERDICTS:
            raise ArtifactError(
                f"{path}: row {number}: verdict {row['verdict']!r} is not one of {', '.join(VERDICTS)}"
            )
        if (
            checked < 0
            or kinks < 0
            or (not math.isfinite(error) and row["verdict"] not in (Verdict.FAIL, Verdict.UNRELIABLE))
        ):
            raise ArtifactError(
                f"{path}: row {number}: max_error {row['max_error']} with verdict {row['verdict']} "
                f"({checked} checked, {kinks} kinks) is not what nnapp writes"
            )
        tensors, directions = grouped.setdefault((epoch, row["when"]), ([], []))
        if row["tensor"] == "direction":
            nan = float("nan")
            directions.append(DirectionalCheck(nan, nan, error, kinks > 0, Verdict(row["verdict"])))
        else:
            tensors.append(TensorCheck(row["tensor"], checked, kinks, error, None, Verdict(row["verdict"])))
    return [
        GradcheckRecord(epoch, when, GradcheckReport(tensors, directions[0] if directions else None))
        for (epoch, when), (tensors, directions) in grouped.items()
    ]


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    text = files.read_run_text(path, files.MAX_TABLE_BYTES)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ArtifactError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    except csv.Error as exc:
        raise ArtifactError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    width = len(reader.fieldnames or [])
    for number, row in enumerate(rows, start=3):  # DictReader fills a short row with None, keeps extras
        if None in row or any(value is None for value in row.values()):
            raise ArtifactError(f"{path}: row {number} does not have the header's {width} cells")
    return rows
