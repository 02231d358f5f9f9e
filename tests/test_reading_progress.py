"""`nnapp train` shows the reading of a CSV that takes longer than a second, and nothing for a quick one."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from nnapp.cli.progress import ReadingProgress

ROOT = Path(__file__).resolve().parent.parent


class FakeClock:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def test_a_read_quicker_than_the_delay_shows_nothing(capsys):
    with ReadingProgress("d.csv", quiet=False, clock=FakeClock(0.0, 0.0, 0.5), terminal=False) as reading:
        reading.update(10, 100)
    assert capsys.readouterr().out == ""


def test_a_read_slower_than_the_delay_says_once_what_it_reads(capsys):
    clock = FakeClock(0.0, 0.0, 1.5, 2.5)
    with ReadingProgress("d.csv", quiet=False, clock=clock, terminal=False) as reading:
        reading.update(10, 3 * 2**20)
        reading.update(20, 3 * 2**20)
    assert capsys.readouterr().out == "reading d.csv (3 MiB)...\n"


def test_quiet_shows_no_reading(capsys):
    with ReadingProgress("d.csv", quiet=True, clock=FakeClock(0.0, 0.0, 9.0), terminal=False) as reading:
        reading.update(10, 100)
    assert capsys.readouterr().out == ""


def test_the_train_command_reports_the_reading_of_its_csv(tmp_path, monkeypatch):
    from nnapp.cli.app import app

    monkeypatch.setattr(ReadingProgress, "DELAY", -1.0)  # every read counts as slow
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    flowers = ROOT / "data" / "flowers.csv"
    config.write_text(
        f"name: t\ndata: {{dataset: csv, path: '{flowers}', target: species, categorical: [garden]}}\n"
        "train: {epochs: 1}\ngradcheck: {enabled: false}\noutput: {plots: false}\n"
    )
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    assert f"reading {flowers}" in result.stdout
