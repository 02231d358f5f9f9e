"""The file layer (nnapp.rundir.files) and the table of run files (nnapp.rundir.runfiles)."""

import io
import re
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _shared import trained

from nnapp.errors import ArtifactError
from nnapp.rundir import files, runfiles

PACKAGE = Path(__file__).resolve().parents[1] / "nnapp"


def planted_link(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A folder with a link `name` to a file outside it; returns (folder, the outside file)."""
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / name).symlink_to(outside)
    return folder, outside


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(files.TEMP_SUFFIX)]


def test_write_replaces_a_planted_link_and_leaves_its_target_alone(tmp_path):
    folder, outside = planted_link(tmp_path, "model.npz")
    files.write(folder / "model.npz", b"new")
    assert outside.read_bytes() == b"precious"
    assert not (folder / "model.npz").is_symlink() and (folder / "model.npz").read_bytes() == b"new"


def test_write_gives_the_file_the_umask_mode_and_leaves_no_temporary_file(tmp_path):
    files.write(tmp_path / "a.txt", b"x")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == files.file_mode()
    assert leftovers(tmp_path) == []


def test_write_over_a_directory_is_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "curves.png").mkdir()
    with pytest.raises(ArtifactError, match=r"curves.png: is a directory") as caught:
        files.write(tmp_path / "curves.png", b"png")
    assert "\n" not in str(caught.value)
    assert (tmp_path / "curves.png").is_dir() and leftovers(tmp_path) == []


def test_write_into_a_missing_folder_is_one_line_naming_the_file(tmp_path):
    with pytest.raises(ArtifactError, match=r"nope/a.txt: cannot write"):
        files.write(tmp_path / "nope" / "a.txt", b"x")


def test_writing_gives_a_library_a_name_in_a_private_folder_then_renames_it(tmp_path):
    folder, outside = planted_link(tmp_path, "training.gif")
    with files.writing(folder / "training.gif") as name:
        assert name.suffix == ".gif" and name.parent.parent == folder
        assert stat.S_IMODE(name.parent.stat().st_mode) == 0o700
        name.write_bytes(b"GIF89a")  # as Pillow would: open by name
    assert outside.read_bytes() == b"precious"
    assert (folder / "training.gif").read_bytes() == b"GIF89a" and not (folder / "training.gif").is_symlink()
    assert leftovers(folder) == []


def test_writing_that_fails_inside_the_block_leaves_the_old_file(tmp_path):
    (tmp_path / "training.gif").write_bytes(b"old")
    with pytest.raises(RuntimeError), files.writing(tmp_path / "training.gif") as name:
        name.write_bytes(b"half")
        raise RuntimeError("drawing failed")
    assert (tmp_path / "training.gif").read_bytes() == b"old" and leftovers(tmp_path) == []


def test_write_all_with_one_target_a_directory_writes_none(tmp_path):
    (tmp_path / "saliency.png").mkdir()
    with pytest.raises(ArtifactError, match=r"saliency\.png: is a directory"):
        files.write_all({tmp_path / "saliency.csv": b"csv", tmp_path / "saliency.png": b"png"})
    assert not (tmp_path / "saliency.csv").exists() and leftovers(tmp_path) == []


def test_write_all_that_cannot_stage_one_file_writes_none(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"old")
    with pytest.raises(ArtifactError, match="cannot write"):
        files.write_all({tmp_path / "a.csv": b"new", tmp_path / "missing" / "b.png": b"png"})
    assert (tmp_path / "a.csv").read_bytes() == b"old" and leftovers(tmp_path) == []


def test_remove_stale_clears_temporary_files_and_folders_but_not_what_a_link_points_to(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_bytes(b"k")
    run = tmp_path / "run"
    run.mkdir()
    (run / ".model.npz.0123.tmp").write_bytes(b"half")
    (run / ".training.gif.4567.tmp").mkdir()
    (run / ".linked.89ab.tmp").symlink_to(outside)
    files.remove_stale(run)
    assert list(run.iterdir()) == [] and (outside / "keep").exists()


def npz(**arrays: object) -> bytes:
    """An .npz of `arrays` as np.savez writes it, with the run files' format version."""
    buffer = io.BytesIO()
    np.savez(buffer, format_version=np.asarray(files.FORMAT_VERSION), **arrays)
    return buffer.getvalue()


SPEC = {"w": files.Entry("f", ndim=2, finite=True), "names": files.Entry("U", ndim=1, required=False)}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (npz(w=np.zeros((2, 2), dtype=np.int64)), "damaged thing (w holds int64"),
        (npz(w=np.zeros(3)), "damaged thing (w has 1 dimensions, expected 2)"),
        (npz(w=np.full((2, 2), np.nan)), "damaged thing (w holds a non-finite value"),
        (npz(v=np.zeros((2, 2))), "not a readable nnapp thing (missing w)"),
        (npz(w=np.zeros((1, 1)), names=np.zeros(2)), "damaged thing (names holds float64"),
        (b"PK\x03\x04 not really a zip", "not a readable nnapp thing (BadZipFile)"),
        (npz(w=np.array([[None]], dtype=object)), "not a readable nnapp thing (ValueError)"),
    ],
    ids=["kind", "ndim", "finite", "missing", "optional-kind", "not-zip", "pickled"],
)
def test_read_npz_refuses_what_the_spec_does_not_allow_in_one_line(tmp_path, content, message):
    (tmp_path / "x.npz").write_bytes(content)
    with pytest.raises(ArtifactError) as caught:
        files.read_npz(tmp_path / "x.npz", SPEC, "thing")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_read_npz_returns_the_entries_of_the_spec(tmp_path):
    (tmp_path / "x.npz").write_bytes(npz(w=np.eye(2), extra=np.zeros(1)))
    arrays = files.read_npz(tmp_path / "x.npz", SPEC, "thing")
    assert set(arrays) == {"w"} and arrays["w"].tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_read_npz_of_a_fifo_does_not_block(tmp_path):
    import os

    os.mkfifo(tmp_path / "x.npz")
    with pytest.raises(ArtifactError, match="not a regular file"):
        files.read_npz(tmp_path / "x.npz", SPEC, "thing")


def python_sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_nothing_but_the_file_layer_renames_files():
    callers = [
        p.name for p in python_sources() if "os.replace(" in p.read_text() or ".rename(" in p.read_text()
    ]
    assert callers == ["files.py"]


def test_no_module_but_the_table_spells_a_run_file_name():
    literals = re.compile("|".join(rf'"{re.escape(f.name)}"' for f in runfiles.RUN_FILES))
    spelled = [
        f"{p.relative_to(PACKAGE)}: {m.group()}"
        for p in python_sources()
        for m in literals.finditer(p.read_text())
    ]
    assert [s for s in spelled if not s.startswith("rundir/runfiles.py")] == []


def test_the_table_declares_each_name_once_and_every_picture_has_a_caption():
    names = [f.name for f in runfiles.RUN_FILES]
    assert len(names) == len(set(names))
    assert all(f.name.endswith(".png") for f in runfiles.PICTURES)
    assert {f.name for f in runfiles.TRAINING_OUTPUTS if f.name.endswith(".png")} == {
        f.name for f in runfiles.PICTURES
    }


@pytest.mark.parametrize("name", ["iris", "moons", "flowers_csv"])
def test_every_file_a_run_writes_is_declared(name):
    declared = {f.name for f in runfiles.TRAINING_OUTPUTS}
    written = {p.name for p in trained(name).iterdir()}
    assert written <= declared, written - declared
    assert {runfiles.MODEL.name, runfiles.CHECKPOINT.name, runfiles.DIAGNOSTICS.name} <= written


def test_a_variant_name_keeps_the_extension():
    assert runfiles.SALIENCY.variant("_val") == "saliency_val.csv"
    assert runfiles.CONFUSION.variant("") == "confusion.png"


def test_read_npz_reads_an_archive_without_the_fixed_zip_times_too(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in (("format_version", np.asarray(files.FORMAT_VERSION)), ("w", np.ones((1, 2)))):
            payload = io.BytesIO()
            np.lib.format.write_array(payload, array)
            archive.writestr(f"{name}.npy", payload.getvalue())
    (tmp_path / "x.npz").write_bytes(buffer.getvalue())
    assert files.read_npz(tmp_path / "x.npz", SPEC, "thing")["w"].shape == (1, 2)


def test_a_file_whose_size_says_nothing_is_still_read_no_further_than_its_limit():
    """/proc files report size 0 and hold more: the size check cannot see it, the bounded read does."""
    with pytest.raises(ArtifactError, match="larger than 16 bytes"):
        files.read_bytes(Path("/proc/self/status"), 16)
