"""Preflight: runs that cannot fit are refused before anything is allocated; adjustments are said."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnapp.config import LoadedConfig, config_from_mapping
from nnapp.core import network
from nnapp.data import preflight
from nnapp.data.preflight import estimate_bytes
from nnapp.errors import DataError, ResourceError
from nnapp.orchestration import job as experiment  # load_data and its load_dataset


def _loaded(raw: dict) -> LoadedConfig:
    cfg, resolved = config_from_mapping(raw, "test.yaml")
    return LoadedConfig(cfg, Path("test.yaml"), (), resolved)


def test_estimate_grows_with_the_hidden_layer_and_uses_exact_integers():
    small, _ = config_from_mapping({"model": {"hidden": 10}})
    huge, _ = config_from_mapping({"model": {"hidden": 10**30}})
    assert estimate_bytes(huge, 150, 4, 3) > 10**30 > estimate_bytes(small, 150, 4, 3) > 0


def test_float32_halves_the_parameter_memory():
    f64, _ = config_from_mapping({"model": {"hidden": 10**6}})
    f32, _ = config_from_mapping({"model": {"hidden": 10**6, "dtype": "float32"}})
    assert estimate_bytes(f32, 150, 4, 3) < 0.6 * estimate_bytes(f64, 150, 4, 3)


def test_a_model_too_big_for_the_machine_is_refused_before_data_or_weights_exist(monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("allocated before the memory check")

    monkeypatch.setattr(experiment, "load_dataset", must_not_run)
    monkeypatch.setattr(network, "init_params", must_not_run)
    with pytest.raises(ResourceError, match=r"test.yaml: model.hidden=1,000,000,000 .* GiB of memory"):
        experiment.load_data(_loaded({"model": {"hidden": 10**9}}))


def test_generated_data_too_big_is_refused_before_it_is_generated(monkeypatch):
    monkeypatch.setattr(experiment, "load_dataset", lambda *a, **k: pytest.fail("generated the data"))
    with pytest.raises(ResourceError, match=r"10,000,000 rows x 100,000 features"):
        experiment.load_data(_loaded({"data": {"dataset": "blobs", "n_samples": 10**7, "n_features": 10**5}}))


def test_the_limit_is_the_memory_this_machine_allows(monkeypatch):
    loaded = _loaded({"model": {"hidden": 1000}})
    need = estimate_bytes(loaded.config, 150, 4, 3)
    monkeypatch.setattr(preflight, "memory_limit", lambda: preflight.MemoryLimit(need - 1, "cgroup x"))
    with pytest.raises(ResourceError, match=r"this machine allows .* GiB \(cgroup x\)"):
        preflight.check_memory_before_data(loaded.config, "test.yaml")
    monkeypatch.setattr(preflight, "memory_limit", lambda: preflight.MemoryLimit(need, "cgroup x"))
    preflight.check_memory_before_data(loaded.config, "test.yaml")  # exactly enough: accepted


def test_ulimit_v_lowers_the_limit_below_physical_memory(monkeypatch):
    monkeypatch.setattr(preflight, "cgroup_memory_limits", lambda: [])
    monkeypatch.setattr(preflight.resource, "getrlimit", lambda which: (3 * 2**30, 3 * 2**30))
    limit = preflight.memory_limit()
    assert limit.source == "ulimit -v (RLIMIT_AS)"
    # what the interpreter already maps is not available to the run
    assert 0 < limit.bytes < 3 * 2**30 and limit.bytes < preflight._physical_memory()


def test_an_unlimited_ulimit_and_no_cgroup_leave_physical_memory(monkeypatch):
    monkeypatch.setattr(preflight, "cgroup_memory_limits", lambda: [])
    monkeypatch.setattr(
        preflight.resource, "getrlimit", lambda which: (preflight.resource.RLIM_INFINITY,) * 2
    )
    assert preflight.memory_limit() == preflight.MemoryLimit(preflight._physical_memory(), "physical memory")


def test_a_cgroup_v2_memory_max_is_read_for_the_process_group_and_its_parents(tmp_path):
    (tmp_path / "user.slice" / "job").mkdir(parents=True)
    (tmp_path / "user.slice" / "job" / "memory.max").write_text("max\n")  # unlimited itself
    (tmp_path / "user.slice" / "memory.max").write_text(f"{2**30}\n")  # but its parent is not
    limits = preflight.cgroup_memory_limits(tmp_path, "0::/user.slice/job\n")
    assert limits == [(2**30, tmp_path / "user.slice" / "memory.max")]


def test_a_cgroup_v1_memory_limit_in_bytes_is_read_and_its_unlimited_value_ignored(tmp_path):
    group = tmp_path / "memory" / "docker" / "abc"
    group.mkdir(parents=True)
    (group / "memory.limit_in_bytes").write_text("536870912\n")
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    membership = "5:devices:/docker/abc\n4:memory:/docker/abc\n"
    assert preflight.cgroup_memory_limits(tmp_path, membership) == [
        (536870912, group / "memory.limit_in_bytes")
    ]


def test_the_smallest_limit_wins_and_is_named_in_the_refusal(monkeypatch):
    monkeypatch.setattr(preflight, "cgroup_memory_limits", lambda: [(2**10, Path("/cg/memory.max"))])
    assert preflight.memory_limit() == preflight.MemoryLimit(2**10, "cgroup /cg/memory.max")
    with pytest.raises(ResourceError, match=r"allows 0.0 GiB \(cgroup /cg/memory.max\)"):
        preflight.check_memory_before_data(_loaded({}).config, "test.yaml")


def test_a_csv_larger_than_the_memory_limit_is_refused_before_it_is_read(monkeypatch, tmp_path):
    csv = tmp_path / "big.csv"
    csv.write_text("a,y\n" + "1,p\n" * 300)
    monkeypatch.setattr(
        preflight, "memory_limit", lambda: preflight.MemoryLimit(1000, "ulimit -v (RLIMIT_AS)")
    )
    loaded = _loaded({"data": {"dataset": "csv", "path": str(csv), "target": "y"}})
    with pytest.raises(
        DataError, match=r"big.csv: the CSV file is .* more than .* \(ulimit -v \(RLIMIT_AS\)\)"
    ):
        experiment.load_data(loaded)


def test_a_csv_too_big_for_its_model_is_refused_once_read(monkeypatch, tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a,y\n" + "".join(f"{i},{'pq'[i % 2]}\n" for i in range(30)))
    loaded = _loaded(
        {"data": {"dataset": "csv", "path": str(csv), "target": "y"}, "model": {"hidden": 10**9}}
    )
    with pytest.raises(ResourceError, match=r"model.hidden=1,000,000,000 on 1 features and 2 classes"):
        experiment.load_data(loaded)


def test_a_batch_larger_than_the_training_set_is_noted_on_stderr_and_in_the_summary(tmp_path, monkeypatch):
    from nnapp.cli.app import app

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text("name: big_batch\ntrain: {epochs: 1, batch_size: 1000}\noutput: {plots: false}\n")
    result = CliRunner().invoke(app, ["train", str(config), "-q"])
    assert result.exit_code == 0, result.stderr
    assert (
        "note: train.batch_size=1000 is larger than the 90 training rows: each step uses all 90"
        in result.stderr
    )
    (run_dir,) = (tmp_path / "runs" / "big_batch").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["notes"] and "full-batch" in summary["notes"][0]


def test_an_id_column_declared_categorical_is_refused_before_one_hot_encoding(monkeypatch, tmp_path):
    csv = tmp_path / "ids.csv"
    csv.write_text("id,a,y\n" + "".join(f"row{i},{i % 3},{'pq'[i % 2]}\n" for i in range(300)))
    monkeypatch.setattr(preflight, "machine_memory_bytes", lambda: 2**20)  # 300 x 301 x 24 B > 1 MiB
    monkeypatch.setattr(np, "zeros", lambda *a, **k: pytest.fail("encoded before the check"))
    loaded = _loaded({"data": {"dataset": "csv", "path": str(csv), "target": "y", "categorical": ["id"]}})
    with pytest.raises(
        DataError, match=r"ids.csv: 300 rows x 301 encoded columns .* column 'id' .* 300 distinct"
    ):
        experiment.load_data(loaded)


def test_gradcheck_samples_beyond_the_training_rows_are_noted():
    loaded = _loaded({"gradcheck": {"samples": 500}})
    data = experiment.load_data(loaded)
    assert preflight.notes(loaded.config, data) == [
        "gradcheck.samples=500 is more than the 90 training rows: the gradient checks use all 90"
    ]


def test_a_run_estimated_to_need_a_gibibyte_or_more_is_told_its_estimate(monkeypatch):
    loaded = _loaded({})
    data = experiment.load_data(loaded)
    assert not any("GiB" in note for note in preflight.notes(loaded.config, data))  # iris: a few MB
    monkeypatch.setattr(preflight, "NOTE_MEMORY_BYTES", 0)  # as if iris were big
    monkeypatch.setattr(
        preflight, "memory_limit", lambda: preflight.MemoryLimit(24 * 2**30, "physical memory")
    )
    need = preflight.estimate_bytes(loaded.config, 150, 4, 3)
    assert preflight.notes(loaded.config, data)[-1] == (
        f"150 rows x 4 features: this run needs about {need / 2**30:,.1f} GiB of memory "
        "(estimate; this machine allows 24.0 GiB, physical memory)"
    )
