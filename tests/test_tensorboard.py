"""TensorBoard's event files (output.tensorboard): read back with a reader of this file's own (records of
uint64 length, uint32 masked CRC-32C, Event bytes, uint32 masked CRC-32C), they hold the numbers of
metrics.csv, gradcheck.csv (as TensorBoard keeps scalars: float32) and the checkpoint; a resumed run
appends and never repeats an epoch."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from crc32c import crc32c
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tensorboardX.proto.event_pb2 import Event
from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.config import load_config
from nnapp.core import network
from nnapp.errors import ConfigError
from nnapp.orchestration.experiment import run_experiment
from nnapp.orchestration.job import execute, prepare_resume
from nnapp.rundir import tensorboard
from nnapp.rundir.artifacts import read_csv_rows
from nnapp.rundir.checkpoint import load_checkpoint
from nnapp.rundir.snapshots import load_snapshots
from nnapp.training.records import METRIC_COLUMNS, Callback

CONFIG = """
name: board
seed: 5
data:
  dataset: iris
model:
  hidden: 6
train:
  epochs: 12
  batch_size: 16
  early_stopping:
    patience: 0
gradcheck:
  every: 4
  coords: 2
output:
  dir: {runs}
  plots: false
  tensorboard: true
"""


def masked(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_events(path: Path) -> list[Event]:
    """Every event of an event file; a damaged record fails the test."""
    blob, at, events = path.read_bytes(), 0, []
    while at < len(blob):
        header = blob[at : at + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", blob[at + 8 : at + 12])[0] == masked(header)
        data = blob[at + 12 : at + 12 + length]
        assert struct.unpack("<I", blob[at + 12 + length : at + 16 + length])[0] == masked(data)
        events.append(Event.FromString(data))
        at += 16 + length
    return events


def scalars(events: list[Event]) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] of the scalar values, in file order."""
    found: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for event in events:
        for value in event.summary.value:
            if value.WhichOneof("value") == "simple_value":
                found[value.tag].append((event.step, value.simple_value))
    return found


def f32(text: str) -> float:
    """A number of a CSV file as TensorBoard keeps scalars: rounded to float32."""
    return float(np.float32(float(text)))


def training_events(run_dir: Path) -> list[Event]:
    return read_events(run_dir / "tensorboard" / tensorboard.TRAINING_EVENTS)


def metrics_rows(run_dir: Path) -> list[dict[str, str]]:
    return read_csv_rows(run_dir / "metrics.csv")  # after the run files' format line


def assert_scalars_are_metrics_csv(run_dir: Path) -> None:
    found, rows = scalars(training_events(run_dir)), metrics_rows(run_dir)
    for column in METRIC_COLUMNS[1:]:
        tag = tensorboard.SCALAR_TAGS[column]
        assert found[tag] == [(int(r["epoch"]), f32(r[column])) for r in rows], column


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "board.yaml"
    path.write_text(CONFIG.format(runs=tmp_path / "runs"))
    return path


def test_every_metrics_column_is_a_scalar_with_the_same_numbers(config):
    run_dir = run_experiment(load_config(config)).run_dir
    assert set(tensorboard.SCALAR_TAGS) == set(METRIC_COLUMNS[1:])  # every column but the epoch
    assert_scalars_are_metrics_csv(run_dir)


def test_each_periodic_check_is_its_max_error_per_tensor_as_in_gradcheck_csv(config):
    run_dir = run_experiment(load_config(config)).run_dir
    found = scalars(training_events(run_dir))
    periodic = [r for r in read_csv_rows(run_dir / "gradcheck.csv") if r["when"] == "epoch"]
    by_tensor = defaultdict(list)
    for row in periodic:
        by_tensor[row["tensor"]].append((int(row["epoch"]), f32(row["max_error"])))
    assert sorted(by_tensor) == ["U", "W", "b1", "b2", "direction", "x"]
    for name, expected in by_tensor.items():
        assert found[tensorboard.GRADCHECK_TAG.format(name)] == expected
    assert [step for step, _ in found[tensorboard.GRADCHECK_TAG.format("W")]] == [0, 4, 8, 12]


def test_histograms_are_the_parameters_and_gradients_at_each_snapshot(config):
    outcome = run_experiment(load_config(config))
    run_dir = outcome.run_dir
    histograms = defaultdict(dict)
    for event in training_events(run_dir):
        for value in event.summary.value:
            if value.HasField("histo"):
                histograms[value.tag][event.step] = value.histo
    assert list(histograms["parameters/W"]) == load_snapshots(run_dir).epochs.tolist()
    # the last epoch's, against the checkpoint's parameters and a backward pass of the reference's own
    state = load_checkpoint(run_dir).state
    dims = (outcome.data.n_features, 6, outcome.data.n_classes)
    params = network.views(state.flat, *dims)
    for name in network.PARAM_NAMES:
        histo = histograms[f"parameters/{name}"][12]
        assert (histo.min, histo.max, histo.num) == (
            params[name].min(),
            params[name].max(),
            params[name].size,
        )
        assert histo.sum == pytest.approx(params[name].sum(), rel=1e-12, abs=1e-12)
        assert sum(histo.bucket) == params[name].size
    grad = histograms["gradients/W"][12]
    assert state.history[12].grad_norm_W == pytest.approx(np.sqrt(grad.sum_squares), rel=1e-9)


@settings(max_examples=60, deadline=None)
@example([[0.0, 5e-324]], False)  # a span of one subnormal: np.histogram refuses 30 bins over it
@given(
    st.lists(
        st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=2, max_size=40),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
)
def test_histogram_buckets_are_np_histograms_for_each_tensor_alone_or_together(tensors, on_edges):
    arrays = [np.asarray(t) for t in tensors]
    if on_edges:  # values on the bins' edges, where a division may round into the neighbouring bin
        arrays = [
            np.linspace(a.min(), a.max(), tensorboard.HISTOGRAM_BINS + 1)[np.arange(a.size) % 31]
            for a in arrays
        ]
    together = tensorboard.histograms([f"t{i}" for i in range(len(arrays))], arrays)
    for array, value in zip(arrays, together, strict=True):
        alone = tensorboard.histograms(["t"], [array])[0]
        assert list(value.histo.bucket) == list(alone.histo.bucket)
        if array.min() == array.max():  # one value: one full bin, the last (np.histogram widens the range)
            assert list(value.histo.bucket)[-1] == array.size
            continue
        try:
            counts, edges = np.histogram(array, bins=tensorboard.HISTOGRAM_BINS)
        except ValueError as refused:  # no 30 increasing edges over a few subnormals: one full bin too
            assert "Too many bins" in str(refused) and list(value.histo.bucket)[-1] == array.size
            continue
        assert list(value.histo.bucket) == counts.tolist()
        assert list(value.histo.bucket_limit) == edges[1:].tolist()


def test_a_histogram_of_a_tensor_with_an_infinity_is_one_full_bin_not_an_error():
    (value,) = tensorboard.histograms(["t"], [np.array([0.0, 1.0, np.inf])])
    assert list(value.histo.bucket)[-1] == 3 and sum(value.histo.bucket) == 3


def test_the_config_is_text_and_the_outcome_has_hparams_and_final_metrics(config):
    run_dir = run_experiment(load_config(config, ["optim.lr=0.07"])).run_dir
    texts = [v for e in training_events(run_dir) for v in e.summary.value if v.tag == "config/text_summary"]
    assert len(texts) == 1 and "lr: 0.07" in texts[0].tensor.string_val[0].decode()
    outcome = read_events(run_dir / "tensorboard" / tensorboard.OUTCOME_EVENTS)
    start = [v for e in outcome for v in e.summary.value if v.tag == "_hparams_/session_start_info"]
    hparams = HParamsPluginData.FromString(start[0].metadata.plugin_data.content).session_start_info.hparams
    assert hparams["optim.lr"].number_value == 0.07 and hparams["data.dataset"].string_value == "iris"
    summary = json.loads((run_dir / "summary.json").read_text())
    found = scalars(outcome)
    for name in ("test_acc", "val_loss", "train_acc"):
        assert found[f"hparam/{name}"] == [(12, f32(repr(summary[name])))]
    final = [e for e in found[tensorboard.FINAL_CHECK_TAG.format("W")]]
    assert final and final[0][1] <= summary["gradcheck_max_error"]


class StopAt(Callback):
    def __init__(self, event: threading.Event, epoch: int) -> None:
        self.event, self.epoch = event, epoch

    def on_epoch_end(self, record, state) -> None:
        if record.epoch == self.epoch:
            self.event.set()


def test_a_resumed_run_appends_and_never_repeats_an_epoch(config):
    stop = threading.Event()
    stopped = run_experiment(load_config(config), [StopAt(stop, 5)], stop)
    run_dir = stopped.run_dir
    path = run_dir / "tensorboard" / tensorboard.TRAINING_EVENTS
    # a crash after epoch 6's events were appended but before its checkpoint was written, in the middle
    # of a second record
    forged = Event(
        step=6, summary={"value": [{"tag": "loss/train", "tensor": {"dtype": 2, "double_val": [9]}}]}
    )
    record = tensorboard.record_bytes(forged.SerializeToString())
    path.write_bytes(path.read_bytes() + record + record[:-3])
    execute(prepare_resume(run_dir))
    steps = [step for step, _ in scalars(training_events(run_dir))["loss/train"]]
    assert steps == list(range(13))
    assert_scalars_are_metrics_csv(run_dir)


def test_with_the_option_off_there_is_no_folder_and_the_same_numbers(config):
    on = run_experiment(load_config(config)).run_dir
    off = run_experiment(load_config(config, ["output.tensorboard=false"])).run_dir
    assert not (off / "tensorboard").exists()
    assert (on / "model.npz").read_bytes() == (off / "model.npz").read_bytes()
    drop_seconds = [{k: v for k, v in row.items() if k != "seconds"} for row in metrics_rows(on)]
    assert drop_seconds == [{k: v for k, v in row.items() if k != "seconds"} for row in metrics_rows(off)]


def test_without_tensorboardx_the_option_is_refused_before_training_with_the_install_command(tmp_path):
    config = tmp_path / "board.yaml"
    config.write_text(CONFIG.format(runs=tmp_path / "runs"))
    blocked = (
        "import sys; sys.modules['tensorboardX'] = None; sys.argv = ['nnapp', 'train', sys.argv[1]]; "
        "from nnapp.cli.launcher import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", blocked, str(config)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: output.tensorboard: true needs tensorboardX, which is not installed: "
        "pip install -e '.[tensorboard]'"
    ]
    assert not (tmp_path / "runs").exists()
    with pytest.raises(ConfigError, match="tensorboard"):
        tensorboard.require(False)


def test_the_override_turns_it_on_from_the_command_line(tmp_path):
    config = tmp_path / "board.yaml"
    config.write_text(
        CONFIG.format(runs=tmp_path / "runs").replace("tensorboard: true", "tensorboard: false")
    )
    result = CliRunner().invoke(app, ["train", str(config), "-q", "output.tensorboard=true"])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs" / "board").iterdir()
    assert_scalars_are_metrics_csv(run_dir)


def test_export_writes_the_event_files_of_a_run_trained_without_the_option(tmp_path):
    config = tmp_path / "board.yaml"
    config.write_text(
        CONFIG.format(runs=tmp_path / "runs").replace("tensorboard: true", "tensorboard: false")
    )
    run_dir = run_experiment(load_config(config)).run_dir
    result = CliRunner().invoke(app, ["export", str(run_dir), "--tensorboard"])
    assert result.exit_code == 0, result.output
    assert_scalars_are_metrics_csv(run_dir)
    with_option = run_experiment(load_config(config, ["output.tensorboard=true"])).run_dir
    exported = read_events(run_dir / "tensorboard" / tensorboard.OUTCOME_EVENTS)
    written = read_events(with_option / "tensorboard" / tensorboard.OUTCOME_EVENTS)
    assert scalars(exported) == scalars(written)  # the final metrics and the final check, the same


def test_export_into_a_folder_of_ones_choice_and_without_a_format_is_refused(config, tmp_path):
    run_dir = run_experiment(load_config(config)).run_dir
    runner = CliRunner()
    assert (
        runner.invoke(app, ["export", str(run_dir), "--tensorboard", str(tmp_path / "board")]).exit_code == 0
    )
    ours = scalars(read_events(tmp_path / "board" / tensorboard.TRAINING_EVENTS))
    assert ours == scalars(training_events(run_dir))
    refused = runner.invoke(app, ["export", str(run_dir)])
    assert refused.exit_code == 2 and "--tensorboard" in refused.output


def test_a_sweep_with_tensorboard_gives_every_run_its_hparams(tmp_path):
    config = tmp_path / "board.yaml"
    config.write_text(
        CONFIG.format(runs=tmp_path / "runs").replace("tensorboard: true", "tensorboard: false")
    )
    args = ["sweep", str(config), "optim.lr=0.05,0.2", "--tensorboard", "--out", str(tmp_path / "sweep")]
    assert CliRunner().invoke(app, args).exit_code == 0
    learning_rates = []
    for run_dir in sorted((tmp_path / "sweep").glob("optim.lr=*")):
        events = read_events(run_dir / "tensorboard" / tensorboard.OUTCOME_EVENTS)
        start = [v for e in events for v in e.summary.value if v.tag == "_hparams_/session_start_info"]
        info = HParamsPluginData.FromString(start[0].metadata.plugin_data.content).session_start_info
        learning_rates.append(info.hparams["optim.lr"].number_value)
    assert learning_rates == [0.05, 0.2]
