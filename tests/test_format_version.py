"""Every run file nnapp writes and reads back records the run files' format version; a file of another
version, or of none, is refused by its reader in one line naming the file and the versions (nnapp 0.1.0
has no runs in the wild: nothing is converted)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from _shared import copy_of, trained
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.config import load_config
from nnapp.errors import ArtifactError
from nnapp.rundir import files, runfiles
from nnapp.rundir.runs import read_checks, read_history

runner = CliRunner()
OTHER = files.FORMAT_VERSION + 1


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


def one_error_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def set_npz_version(path: Path, version: int | None) -> None:
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays.pop(files.FORMAT_ENTRY)
    if version is not None:
        arrays[files.FORMAT_ENTRY] = np.asarray(version)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            payload = io.BytesIO()
            np.lib.format.write_array(payload, array, allow_pickle=False)
            archive.writestr(f"{name}.npy", payload.getvalue())
    path.write_bytes(buffer.getvalue())


def set_json_version(path: Path, version: int | None) -> None:
    summary = json.loads(path.read_text())
    summary.pop(files.FORMAT_ENTRY)
    if version is not None:
        summary = {files.FORMAT_ENTRY: version, **summary}
    path.write_text(json.dumps(summary, indent=2))


def set_line_version(path: Path, version: int | None) -> None:
    first, _, rest = path.read_text().partition("\n")
    assert first == f"# nnapp run file format {files.FORMAT_VERSION}"
    path.write_text(rest if version is None else f"# nnapp run file format {version}\n{rest}")


def expected(path: Path, version: int | None) -> str:
    recorded = "records no format version" if version is None else f"is format version '{version}'"
    return f"{path}: {recorded}; this nnapp reads run files of format version {files.FORMAT_VERSION} only"


def refused_by_cli(*command: str) -> Callable[[Path], str]:
    return lambda run_dir: one_error_line(
        invoke(*command, run_dir, *(["--epochs", "5"] if "--resume" in command else []))
    )


def refused_by(reader: Callable[[Path], object]) -> Callable[[Path], str]:
    def read(run_dir: Path) -> str:
        with pytest.raises(ArtifactError) as caught:
            reader(run_dir)
        assert "\n" not in str(caught.value)
        return f"error: {caught.value}"

    return read


CASES = {
    runfiles.MODEL.name: (set_npz_version, refused_by_cli("evaluate")),
    runfiles.CHECKPOINT.name: (set_npz_version, refused_by_cli("train", "--resume")),
    runfiles.SNAPSHOTS.name: (set_npz_version, refused_by_cli("train", "--resume")),
    runfiles.SUMMARY.name: (set_json_version, refused_by_cli("evaluate")),
    runfiles.CONFIG.name: (set_line_version, refused_by_cli("evaluate")),
    runfiles.METRICS.name: (set_line_version, refused_by(read_history)),
    runfiles.GRADCHECK.name: (set_line_version, refused_by(read_checks)),
}


@pytest.mark.parametrize("version", [OTHER, None], ids=["other", "none"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_run_file_of_another_format_version_is_refused_in_one_line_naming_it(tmp_path, name, version):
    run_dir = copy_of("iris", tmp_path)
    set_version, read = CASES[name]
    set_version(run_dir / name, version)
    assert read(run_dir) == f"error: {expected(run_dir / name, version)}"


def test_every_run_file_nnapp_reads_back_is_covered():
    read_back = {f.name for f in runfiles.TRAINING_OUTPUTS if f.read_by != "-"}
    assert read_back == set(CASES)


def test_a_resume_refused_for_its_config_version_writes_nothing(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    set_line_version(run_dir / runfiles.CONFIG.name, OTHER)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    line = one_error_line(invoke("train", "--resume", run_dir, "--epochs", "5"))
    assert line == f"error: {expected(run_dir / runfiles.CONFIG.name, OTHER)}"
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


def test_a_runs_config_yaml_is_still_a_config_to_train_from():
    config = trained("iris") / runfiles.CONFIG.name
    assert config.read_text().startswith(f"# nnapp run file format {files.FORMAT_VERSION}\n")
    assert load_config(config).config.name == "iris"
