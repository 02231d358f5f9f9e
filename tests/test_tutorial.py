"""docs/tutorial.ipynb runs from top to bottom (its cells assert what they teach), and is committed clean."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"


def _kernel_of_this_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 'python3' kernelspec that starts THIS interpreter (the venv's, where nnapp and ipykernel are),
    found before any user-wide 'python3' spec (JUPYTER_PATH comes first); the kernel's files in tmp."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # the kernel's history database
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # the notebook's runs (tempfile.mkdtemp)
    (tmp_path / "tmp").mkdir()


def test_the_tutorial_runs_every_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import nbclient
    import nbformat

    _kernel_of_this_python(tmp_path, monkeypatch)
    work = tmp_path / "work"  # the kernel's working directory: configs/ is found through this link
    work.mkdir()
    (work / "configs").symlink_to(ROOT / "configs")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(work)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    images = sum(
        "image/png" in output.get("data", {}) for cell in nb.cells for output in cell.get("outputs", [])
    )
    assert images == 6  # curves, gradient checks, decision regions, saliency, attack, examples: inline
    removed = nb.cells[-1].outputs[0]["text"]  # the last cell removes the notebook's temporary runs
    assert removed.startswith(f"removed {tmp_path / 'tmp'}/nnapp-tutorial-")
    assert not list((tmp_path / "tmp").glob("nnapp-tutorial-*"))  # and leaves no run behind
    assert sorted(p.name for p in work.iterdir()) == ["configs"]  # nothing written next to the notebook


def test_a_copy_outside_the_repository_says_where_the_configs_must_come_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import nbclient
    import nbformat
    from nbclient.exceptions import CellExecutionError

    _kernel_of_this_python(tmp_path, monkeypatch)
    monkeypatch.delenv("NNAPP_CONFIGS", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells = nb.cells[:2]  # the set-up cell only
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path / "tmp")}}
    )
    with pytest.raises(CellExecutionError, match="set NNAPP_CONFIGS=") as caught:
        client.execute()
    assert caught.value.ename == "FileNotFoundError"  # not a bare StopIteration


def test_a_failing_cell_fails_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import nbclient
    import nbformat
    from nbclient.exceptions import CellExecutionError

    _kernel_of_this_python(tmp_path, monkeypatch)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import nnapp\nnnapp.load_run('nope')")])
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}
    )
    with pytest.raises(CellExecutionError, match="nope: no such run directory") as caught:
        client.execute()
    assert caught.value.ename == "ArtifactError"


def test_the_committed_tutorial_has_no_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert code and all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)
