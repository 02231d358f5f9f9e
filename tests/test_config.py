"""Configs: defaults, strict validation with one-line messages naming file and key, overrides."""

import pytest

from nnapp.config import Config, dump_config, load_config, parse_yaml
from nnapp.errors import ConfigError


def test_an_empty_mapping_gives_every_default(write_config):
    assert load_config(write_config("name: x\n")).config.optim == Config().optim


def test_values_are_typed(write_config):
    cfg = load_config(write_config("optim:\n  lr: 0.5\nmodel:\n  hidden: 7\n")).config
    assert cfg.optim.lr == 0.5 and cfg.model.hidden == 7


def test_exponent_without_dot_is_read_as_the_number_meant(write_config):
    # PyYAML reads 1e-4 as the string "1e-4"
    cfg = load_config(write_config("optim:\n  lr: 1e-4\ntrain:\n  epochs: 1e2\n")).config
    assert cfg.optim.lr == 1e-4 and cfg.train.epochs == 100


def test_out_of_range_message_names_file_and_dotted_key(write_config):
    path = write_config("optim:\n  lr: -1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: optim.lr must be > 0 (got -1)"


def test_unknown_key_suggests_the_close_one(write_config):
    with pytest.raises(ConfigError, match=r"unknown key 'optim.momentun'; did you mean 'optim.momentum'"):
        load_config(write_config("optim:\n  momentun: 0.9\n"))


def test_wrong_type_is_refused(write_config):
    with pytest.raises(ConfigError, match=r"model.hidden must be an integer \(got 'big'\)"):
        load_config(write_config("model:\n  hidden: big\n"))


def test_bad_choice_suggests_a_valid_one(write_config):
    with pytest.raises(ConfigError, match=r"data.dataset must be one of .*did you mean 'digits'"):
        load_config(write_config("data:\n  dataset: digit\n"))


def test_duplicate_keys_are_refused_naming_both_lines():
    first_at_line_2 = r"line 4, column 3: duplicate key 'lr' \(first defined at line 2\)"
    with pytest.raises(ConfigError, match=first_at_line_2):
        parse_yaml("optim:\n  lr: 0.1\n  momentum: 0.5\n  lr: 0.2\n", "x.yaml")


def test_splits_must_leave_training_rows(write_config):
    with pytest.raises(ConfigError, match=r"data.test_size \+ data.val_size must be < 1"):
        load_config(write_config("data:\n  test_size: 0.5\n  val_size: 0.5\n"))


def test_override_replaces_a_value(write_config):
    loaded = load_config(write_config("optim:\n  lr: 0.1\n"), ["optim.lr=0.05", "model.hidden=32"])
    assert loaded.config.optim.lr == 0.05 and loaded.config.model.hidden == 32


def test_a_bad_override_is_blamed_on_the_override(write_config):
    with pytest.raises(ConfigError) as info:
        load_config(write_config("name: x\n"), ["optim.lr=-2"])
    assert str(info.value) == "override 'optim.lr=-2': optim.lr must be > 0 (got -2)"


def test_an_override_without_equals_sign_is_refused(write_config):
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(write_config("name: x\n"), ["optim.lr"])


def test_the_resolved_config_round_trips(write_config, tmp_path):
    loaded = load_config(write_config("optim:\n  lr: 1e-3\ngradcheck:\n  coords: all\n"), ["seed=4"])
    again = tmp_path / "again.yaml"
    again.write_text(dump_config(loaded.config, loaded.overrides))
    assert load_config(again).config == loaded.config


def test_csv_dataset_requires_path_and_target(write_config):
    with pytest.raises(ConfigError, match=r"data\.path is required"):
        load_config(write_config("data:\n  dataset: csv\n  target: y\n"))


def test_a_relative_csv_path_is_recorded_absolute_so_runs_find_their_data_anywhere(tmp_path, monkeypatch):
    (tmp_path / "d.csv").write_text("a,label\n1,x\n")
    (tmp_path / "c.yaml").write_text("data:\n  dataset: csv\n  path: d.csv\n  target: label\n")
    monkeypatch.chdir("/")  # not found from here: found next to the config instead
    assert load_config(tmp_path / "c.yaml").config.data.path == str(tmp_path / "d.csv")


def test_a_csv_path_found_nowhere_is_left_for_the_data_loader_to_report(write_config):
    cfg = load_config(write_config("data:\n  dataset: csv\n  path: nope.csv\n  target: y\n")).config
    assert cfg.data.path == "nope.csv"


# YAML values: '"a\\0b"' is a, NUL, b
@pytest.mark.parametrize("name", ["..", ".", "'...'", "''", "a/b", "../x", '"a\\0b"', '"a\\nb"', "a" * 101])
def test_a_run_name_must_be_one_safe_path_component(write_config, name):
    with pytest.raises(ConfigError, match=r": name must"):
        load_config(write_config("name: x\n"), [f"name={name}"])


def test_names_with_dots_inside_are_kept(write_config):
    assert load_config(write_config("name: iris.v2..final\n")).config.name == "iris.v2..final"


def test_every_run_directory_stays_under_output_dir(write_config, tmp_path):
    from typer.testing import CliRunner

    from nnapp.cli.app import app

    (tmp_path / "out").mkdir()
    for name in ("..", "."):
        result = CliRunner().invoke(
            app, ["train", str(write_config("name: x\n")), f"name={name}", f"output.dir={tmp_path / 'out'}"]
        )
        assert result.exit_code == 2 and "name must not be only dots" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "out"] and not any(
        (tmp_path / "out").iterdir()
    )


@pytest.mark.parametrize(
    "key", ["optim.lr", "optim.weight_decay", "data.noise", "gradcheck.tol", "optim.min_lr"]
)
@pytest.mark.parametrize("text", ["1e400", "-1e400", "1E999"])
def test_a_number_written_as_text_that_overflows_a_float_is_refused(write_config, key, text):
    with pytest.raises(ConfigError, match=rf"override '{key}={text}': {key} must be a finite number"):
        load_config(write_config("name: x\n"), [f"{key}={text}"])


def test_min_lr_above_lr_is_refused_for_every_schedule(write_config):
    for schedule in ("constant", "step", "cosine", "invscaling", "plateau"):
        with pytest.raises(ConfigError, match=r"optim.min_lr must be <= optim.lr \(got 0.5 > 0.1\)"):
            load_config(write_config(f"optim: {{lr: 0.1, min_lr: 0.5, schedule: {schedule}}}\n"))
    assert (
        load_config(write_config("optim: {lr: 0.1, min_lr: 0.1, schedule: cosine}\n")).config.optim.min_lr
        == 0.1
    )


def test_invscaling_is_refused_when_it_would_overflow_within_the_configured_epochs(write_config):
    import math

    from nnapp.core.optim import schedule_init, schedule_lr

    path = write_config("optim: {schedule: invscaling, power_t: 150}\ntrain: {epochs: 100}\n")
    cfg = load_config(path).config  # 100^150 = 1e300: fits a float
    lrs = [schedule_lr(cfg.optim, schedule_init(cfg.optim), e, 100) for e in range(100)]
    assert all(math.isfinite(lr) for lr in lrs)
    with pytest.raises(
        ConfigError, match=r"optim.power_t=150 overflows the invscaling schedule over 200 epochs"
    ):
        load_config(path, ["train.epochs=200"])  # 200^150 > 1.8e308: Python raised OverflowError mid-run


def test_invscaling_past_the_checked_epochs_decays_to_min_lr_instead_of_raising(write_config):
    from nnapp.core.optim import schedule_init, schedule_lr

    cfg = load_config(write_config("optim: {schedule: invscaling, power_t: 150, min_lr: 1e-6}\n")).config
    assert schedule_lr(cfg.optim, schedule_init(cfg.optim), 10_000, 10_001) == 1e-6  # train --resume --epochs


def test_the_config_package_imports_nothing_of_nnapp_but_errors():
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "nnapp" / "config"
    imported = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nnapp"):
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names if a.name.startswith("nnapp")}
    assert imported - {"nnapp.errors"} == {m for m in imported if m.startswith("nnapp.config.")}
