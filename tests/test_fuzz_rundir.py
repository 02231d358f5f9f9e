"""Properties: a damaged or crafted run directory never crashes a reader, nor a command that reads it.

Each example damages one file of a trained run (model.npz, summary.json, metrics.csv, gradcheck.csv,
checkpoint.npz or snapshots.npz) and calls the library reader of that file in process (many examples:
each takes milliseconds): it returns, or raises an NnappError of one line; never another exception.
One smoke test per file then runs every command that reads it on one damaged copy: each ends in its
normal exit code or in exit 2 with one `error:` line, and a command that fails leaves every file as it was.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _shared import FLOWERS, ROOT, trained
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.errors import NnappError
from nnapp.rundir.checkpoint import load_checkpoint
from nnapp.rundir.runs import load_run, read_checks, read_history
from nnapp.rundir.snapshots import load_snapshots


def fuzz_settings(examples: int) -> settings:
    """`examples` per test in `make test` (each calls one reader in process); NNAPP_FUZZ_EXAMPLES=2000
    explores more."""
    return settings(
        max_examples=int(os.environ.get("NNAPP_FUZZ_EXAMPLES", examples)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


runner = CliRunner()
CONFIG = ROOT / "configs" / "flowers_csv.yaml"

# the commands that read a run
COMMANDS: dict[str, list[str]] = {
    "evaluate": ["evaluate", "{run}"],
    "predict": ["predict", "{run}", str(FLOWERS), "--out", "{out}"],
    "plot": ["plot", "{run}"],
    "overlay": ["plot", "{run}", "{run}", "--out", "{out}.png"],
    "gradcheck": ["gradcheck", str(CONFIG), f"data.path={FLOWERS}", "--run", "{run}"],
    "resume": ["train", "--resume", "{run}", "--quiet"],
}
READERS = {
    "model.npz": ["evaluate", "predict", "plot", "overlay", "gradcheck"],  # a resume rewrites it
    "summary.json": ["evaluate", "predict", "plot", "overlay", "gradcheck"],
    "metrics.csv": ["plot", "overlay"],
    "gradcheck.csv": ["plot"],
    "checkpoint.npz": ["resume"],
    "snapshots.npz": ["resume"],
}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def run_every_reader(damaged_file: str, run_dir: Path) -> None:
    """Each command that reads `damaged_file`: exit 2 in one line naming it, with nothing written."""
    out = run_dir.parent / "predictions.csv"
    for name in READERS[damaged_file]:
        args = COMMANDS[name]
        before = snapshot(run_dir)
        outputs_before = snapshot(run_dir.parent)
        result = runner.invoke(
            app, [a.format(run=run_dir, out=out) for a in args], env={"COLUMNS": "300"}, catch_exceptions=True
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{name} crashed: {result.exception!r}"
        )
        assert result.exit_code == 2, (name, result.exit_code, result.output)  # the damage is refused
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, result.output)
        assert damaged_file in lines[0], (name, lines[0])
        assert snapshot(run_dir) == before, f"{name} failed but changed the run directory"
        assert snapshot(run_dir.parent) == outputs_before, f"{name} failed but wrote an output file"


def reads_or_refuses_in_one_line(read: Callable[[Path], object], run_dir: Path) -> None:
    """`read(run_dir)` returns, or raises an NnappError whose message is one line naming a path."""
    try:
        read(run_dir)
    except NnappError as exc:
        message = str(exc)
        event(f"{read.__name__}: refused")
        assert message and "\n" not in message, message
        assert str(run_dir) in message, message
    else:
        event(f"{read.__name__}: read")


@contextlib.contextmanager
def crafted_copy() -> Iterator[Path]:
    """A private copy of the trained flowers_csv run (one per example: hypothesis cannot use tmp_path)."""
    with tempfile.TemporaryDirectory(prefix="nnapp-fuzz-") as folder:
        run_dir = Path(folder) / "run"
        shutil.copytree(trained("flowers_csv"), run_dir)
        yield run_dir


def fresh_run(tmp_path_factory: Any) -> Path:
    target = tmp_path_factory.mktemp("fuzzrun") / "run"
    shutil.copytree(trained("flowers_csv"), target)
    return target


# ----------------------------------------------------------------------------------------- npz files


def replacement(original: np.ndarray) -> st.SearchStrategy[np.ndarray | None]:
    """What a crafted archive may hold instead of an entry (None: the entry is left out)."""
    shape = original.shape
    return st.one_of(
        st.none(),
        st.just(np.full(shape, "x")),  # strings for weights
        st.just(np.ones(shape, dtype=np.int64)),  # ints for weights
        st.just(np.ones(shape, dtype=bool)),
        st.just(np.full(shape, np.nan)),
        st.just(np.full(shape, np.inf)),
        st.just(np.zeros(shape)),
        st.just(np.ones((*shape, 2))),  # one more axis
        st.just(np.ones(tuple(max(0, n - 1) for n in shape))),  # one shorter
        st.just(np.asarray(3.0)),
        st.just(np.asarray([], dtype=np.float64)),
        st.just(np.asarray(b"bytes")),
        st.text(max_size=20).map(np.asarray),  # JSON fields that are not JSON
        st.sampled_from(['{"garden": "a"}', '{"garden": [1]}', "[1, 2]", '{"x": []}', "null", "1e999"]).map(
            np.asarray
        ),
        st.lists(st.text(max_size=4), min_size=0, max_size=5).map(lambda v: np.asarray(v, dtype=str)),
        st.lists(st.integers(-(2**40), 2**40), max_size=5).map(lambda v: np.asarray(v, dtype=np.int64)),
    )


def crafted_npz(path: Path, data: st.DataObject) -> None:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    names = sorted(arrays)
    how = data.draw(st.sampled_from(["entry", "entry", "bytes", "truncate"]), label="how")
    if how == "entry":
        name = data.draw(st.sampled_from(names), label="entry")
        value = data.draw(replacement(arrays[name]), label="value")
        if value is None:
            del arrays[name]
        else:
            arrays[name] = value
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:  # np.savez would pickle nothing: same bytes layout
            for key, array in arrays.items():
                payload = io.BytesIO()
                np.lib.format.write_array(payload, array, allow_pickle=False)
                archive.writestr(f"{key}.npy", payload.getvalue())
        path.write_bytes(buffer.getvalue())
    else:
        raw = bytearray(path.read_bytes())
        at = data.draw(st.integers(0, len(raw) - 1), label="offset")
        if how == "truncate":
            path.write_bytes(bytes(raw[:at]))
        else:
            raw[at] = data.draw(st.integers(0, 255), label="byte")
            path.write_bytes(bytes(raw))


@fuzz_settings(40)
@given(data=st.data())
def test_a_crafted_model_npz_is_loaded_or_refused_in_one_line(data):
    with crafted_copy() as run_dir:
        crafted_npz(run_dir / "model.npz", data)
        reads_or_refuses_in_one_line(load_run, run_dir)
        reads_or_refuses_in_one_line(lambda path: load_run(path, usable=False), run_dir)


@fuzz_settings(80)
@given(data=st.data())
def test_a_crafted_checkpoint_is_loaded_or_refused_in_one_line(data):
    with crafted_copy() as run_dir:
        crafted_npz(run_dir / "checkpoint.npz", data)
        reads_or_refuses_in_one_line(load_checkpoint, run_dir)


@fuzz_settings(60)
@given(data=st.data())
def test_a_crafted_snapshots_file_is_loaded_or_refused_in_one_line(data):
    with crafted_copy() as run_dir:
        crafted_npz(run_dir / "snapshots.npz", data)
        reads_or_refuses_in_one_line(load_snapshots, run_dir)


# --------------------------------------------------------------------------------------- summary.json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def craft_summary(path: Path, data: st.DataObject) -> None:
    summary = json.loads(path.read_text())
    how = data.draw(st.sampled_from(["key", "key", "whole", "text"]), label="how")
    if how == "key":
        summary[data.draw(st.sampled_from(sorted(summary)), label="key")] = data.draw(
            json_values, label="value"
        )
        path.write_text(json.dumps(summary))
    elif how == "whole":
        path.write_text(json.dumps(data.draw(json_values, label="summary")))
    else:
        path.write_bytes(data.draw(st.binary(max_size=40), label="bytes"))


@fuzz_settings(80)
@given(data=st.data())
def test_a_crafted_summary_json_is_loaded_or_refused_in_one_line(data):
    with crafted_copy() as run_dir:
        craft_summary(run_dir / "summary.json", data)
        reads_or_refuses_in_one_line(load_run, run_dir)


# ---------------------------------------------------------------------------------------- metrics.csv

cells = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-1", "0", "2.5", "", "x", "1e12", "3", "1.0", " 1"]),
    st.text(max_size=6),
)


def craft_csv(path: Path, data: st.DataObject) -> None:
    lines = path.read_text().splitlines()
    how = data.draw(st.sampled_from(["cell", "cell", "drop", "text"]), label="how")
    if how == "cell":
        row = data.draw(st.integers(0, len(lines) - 1), label="line")
        cells_of_row = lines[row].split(",")
        column = data.draw(st.integers(0, len(cells_of_row) - 1), label="column")
        cells_of_row[column] = data.draw(cells, label="cell")
        lines[row] = ",".join(cells_of_row)
        path.write_text("\n".join(lines) + "\n")
    elif how == "drop":
        del lines[data.draw(st.integers(0, len(lines) - 1), label="line")]
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_bytes(data.draw(st.binary(max_size=60), label="bytes"))


@fuzz_settings(80)
@given(data=st.data())
def test_a_crafted_metrics_csv_is_read_or_refused_in_one_line(data):
    with crafted_copy() as run_dir:
        craft_csv(run_dir / "metrics.csv", data)
        reads_or_refuses_in_one_line(read_history, run_dir)


@fuzz_settings(80)
@given(data=st.data())
def test_a_crafted_gradcheck_csv_is_read_or_refused_in_one_line(data):
    with crafted_copy() as run_dir:
        craft_csv(run_dir / "gradcheck.csv", data)
        reads_or_refuses_in_one_line(read_checks, run_dir)


# ------------------------------------------------------- one smoke test per reader, through the CLI


def damage_one_entry(path: Path) -> None:
    """An archive whose first entry (in name order) holds text: a damage every reader must name."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    first = sorted(arrays)[0]
    arrays[first] = np.full(arrays[first].shape, "x")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, array in arrays.items():
            payload = io.BytesIO()
            np.lib.format.write_array(payload, array, allow_pickle=False)
            archive.writestr(f"{key}.npy", payload.getvalue())
    path.write_bytes(buffer.getvalue())


SMOKE_DAMAGE = {
    "model.npz": damage_one_entry,
    "checkpoint.npz": damage_one_entry,
    "snapshots.npz": damage_one_entry,
    "summary.json": lambda path: path.write_text('{"epochs_trained": "many"}'),
    "metrics.csv": lambda path: path.write_text(path.read_text().replace(",", ";", 3)),
    "gradcheck.csv": lambda path: path.write_text(path.read_text()[:-20]),
}


@pytest.mark.parametrize("damaged_file", sorted(READERS))
def test_every_command_that_reads_a_damaged_file_refuses_it_in_one_line(damaged_file, tmp_path_factory):
    run_dir = fresh_run(tmp_path_factory)
    SMOKE_DAMAGE[damaged_file](run_dir / damaged_file)
    run_every_reader(damaged_file, run_dir)
