"""The two CSV readers: the fast path (numpy's C parser, in chunks) gives exactly the careful reader's table
on every file it accepts, accepts the common clean files, and declines every file of the bad-input table."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from nnapp.config import DataConfig
from nnapp.data import csvtable
from nnapp.data.tables import Table
from nnapp.errors import DataError

ROOT = Path(__file__).resolve().parent.parent


def assert_same_table(fast: Table, careful: Table) -> None:
    assert fast.X.dtype == careful.X.dtype and fast.X.shape == careful.X.shape
    assert fast.X.tobytes() == careful.X.tobytes()  # bit for bit, -0.0 and all
    assert fast.y.dtype == careful.y.dtype and fast.y.tolist() == careful.y.tolist()
    assert fast.feature_names == careful.feature_names
    assert fast.categories == careful.categories
    assert fast.columns == careful.columns
    assert fast.dropped_rows == careful.dropped_rows


def both(path: Path, cfg: DataConfig) -> tuple[Table | None, Table | None]:
    fast = csvtable.fast_table(path, cfg)
    try:
        careful: Table | None = csvtable.careful_table(path, cfg)
    except DataError:
        careful = None
    return fast, careful


def config(path: Path, target: str = "y", **kwargs) -> DataConfig:
    return DataConfig(dataset="csv", path=str(path), target=target, **kwargs)


@pytest.mark.parametrize(
    "text",
    [
        "a,b,y\n1,2.5,p\n-3e2,+4,q\n",
        "a,b,y\r\n1,2.5,p\r\n-3e2,+4,q\r\n",  # CRLF
        "\ufeffa,b,y\n1,2.5,p\n-3e2,+4,q",  # a byte-order mark, no newline at the end
        " a , b ,y\n 1 ,\t2.5 , p \n\n-3e2,+4,q\n\n",  # spaces around cells, blank lines
        "y,a,b\n0,1,2\n1,3,4\n",  # integer labels, the target first
    ],
    ids=["plain", "crlf", "bom-no-final-newline", "spaces-and-blank-lines", "integer-labels-first"],
)
def test_the_fast_path_reads_clean_files_as_the_careful_reader_does(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode())
    fast, careful = both(path, config(path))
    assert fast is not None and careful is not None
    assert_same_table(fast, careful)


def test_the_fast_path_one_hot_encodes_categories_as_the_careful_reader_does():
    path = ROOT / "data" / "flowers.csv"
    fast, careful = both(path, config(path, "species", categorical=["garden"]))
    assert fast is not None and careful is not None
    assert_same_table(fast, careful)


def test_a_file_larger_than_one_chunk_is_read_whole_and_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(csvtable, "CHUNK_CHARS", 64)  # many chunks, cut inside CRLF line ends too
    rows = "".join(f"{i},{i * 0.5},{'pq'[i % 2]}\r\n" for i in range(500))
    path = tmp_path / "d.csv"
    path.write_bytes(("a,b,y\r\n" + rows).encode())
    fast, careful = both(path, config(path))
    assert fast is not None and careful is not None
    assert_same_table(fast, careful)
    assert fast.X[:, 0].tolist() == list(range(500))


@pytest.mark.parametrize(
    "text",
    [
        'a,b,y\n1,"2",p\n3,4,q\n',  # a quoted field
        "a,b,y\n1,,p\n3,4,q\n",  # a missing value
        "a,b,y\n1,nan,p\n3,4,q\n",  # a missing-value token the C parser reads as NaN
        "a,b,y\n1,2,NA\n3,4,q\n",  # a missing label
        "a,b,y\n1,inf,p\n3,4,q\n",  # not finite
        "a,b,y\n1,1_000,p\n3,4,q\n",  # Python's float() reads it, the C parser does not
        "a,b,y\n1,2,p,9\n3,4\n",  # ragged rows whose cells add up
        "a,b,y\n1,2,p\r3,4,q\r",  # lone carriage returns
        "\na,b,y\n1,2,p\n3,4,q\n",  # a blank line before the header
        "a,a,y\n1,2,p\n3,4,q\n",  # a repeated column name
        "a,b,z\n1,2,p\n3,4,q\n",  # no data.target column: the careful reader says so, after reading
    ],
)
def test_the_fast_path_leaves_unusual_files_to_the_careful_reader(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_text(text, newline="")
    assert csvtable.fast_table(path, config(path)) is None


def test_every_csv_of_the_bad_input_table_is_declined_or_read_identically(tmp_path):
    import yaml
    from test_bad_input import CASES, CSV_CONFIG

    checked = 0
    for case in CASES:
        if case.csv is None or not isinstance(case.config, str) or "{csv}" not in case.config:
            continue
        path = tmp_path / f"{case.id}.csv"
        path.write_bytes(case.csv if isinstance(case.csv, bytes) else case.csv.encode())
        data = yaml.safe_load(case.config.replace("{csv}", str(path))).get("data")
        if data is None:  # the file stands for something else (an output directory)
            continue
        fast, careful = both(path, DataConfig(**data))
        if fast is not None:  # its error comes later (one class, overflow...): the same table is read
            assert careful is not None, case.id
            assert_same_table(fast, careful)
        checked += 1
    assert checked >= 20 and CSV_CONFIG  # the table's CSV rows were all tried


ODD_NUMBERS = ["nan", "inf", "-inf", "", "NA", "?", "1_0", "0x1", "\u0661", "1\u00a0", '"1"', "1e999"]
NUMBERS = st.integers(0, 29).flatmap(  # about one cell in ten is odd: most files stay clean enough
    lambda pick: (
        st.sampled_from(ODD_NUMBERS)
        if pick < 3
        else st.sampled_from(["+1", "-0", "0.", ".5", "1E3", "-0.0", "1e-320"])
        if pick < 6
        else st.integers(-(10**6), 10**6).map(str)
        if pick < 15
        else st.floats(allow_nan=False, allow_infinity=False).map(repr)
    )
)
LABELS = st.integers(0, 9).flatmap(
    lambda pick: (
        st.sampled_from(["None", "", 'x"y', "?", "ä", " p "])
        if pick == 0
        else st.sampled_from(["p", "q", "0", "1", "01"])
        if pick < 6
        else st.text(string.ascii_letters, min_size=1, max_size=3)
    )
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, DataConfig, bool]:
    """CSV files near the clean common case, with a few of the oddities each reader must agree on."""
    n_numeric = draw(st.integers(1, 3))
    with_category = draw(st.booleans())
    header = [f"x{i}" for i in range(n_numeric)] + (["c"] if with_category else []) + ["y"]
    header = draw(st.permutations(header))
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        cells = {f"x{i}": draw(NUMBERS) for i in range(n_numeric)}
        cells["c"] = draw(st.sampled_from(["red", "blue", "red", "blue", " red", "n/a"]))
        cells["y"] = draw(LABELS)
        row = [cells[name] for name in header]
        pad = draw(st.sampled_from(["", "", " ", "\t"]))
        rows.append(",".join(pad + cell + pad for cell in row))
        if draw(st.integers(0, 9)) == 0:
            rows.append(draw(st.sampled_from(["", "  ", ",,", "1"])))  # blank or odd lines
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join([",".join(header), *rows]) + draw(st.sampled_from([end, ""]))
    bom = "\ufeff" if draw(st.booleans()) else ""
    cfg = config(Path("unused"), "y", categorical=["c"] if with_category else [])
    return (bom + text).encode(), cfg, with_category


@settings(max_examples=300, deadline=None)
@given(file=csv_files(), chunk=st.sampled_from([16, 64, 2**20]))
def test_the_fast_and_careful_readers_agree_on_every_file_both_accept(file, chunk, tmp_path_factory):
    content, cfg, _ = file
    path = tmp_path_factory.mktemp("csv") / "d.csv"
    path.write_bytes(content)
    cfg = config(path, "y", categorical=cfg.categorical)
    original = csvtable.CHUNK_CHARS
    csvtable.CHUNK_CHARS = chunk  # no monkeypatch in a hypothesis test: restored by hand
    try:
        fast, careful = both(path, cfg)
    finally:
        csvtable.CHUNK_CHARS = original
    event("the fast path read it" if fast is not None else "left to the careful reader")
    event("the careful reader accepts it" if careful is not None else "the careful reader refuses it")
    if fast is not None:
        assert careful is not None
        assert_same_table(fast, careful)
