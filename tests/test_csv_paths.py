"""The CSV reader (pandas' C parser) gives, bit for bit, the table an independent reference reads: the csv
module, cells stripped, blank lines skipped, Python's float(), categories sorted and one-hot encoded."""

from __future__ import annotations

import csv
import io
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from nnapp.config import DataConfig
from nnapp.data import csvtable
from nnapp.data.tables import Table
from nnapp.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}  # docs/csv.md: the cells that mean "no value"


def reference_table(path: Path, cfg: DataConfig) -> Table | None:
    """What the file means, read without pandas (None where the reference sees a problem)."""
    text = path.read_bytes().decode("utf-8-sig")
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text, newline=""))]
    rows = [r for r in rows if r and not (len(r) == 1 and not r[0])]
    header, body = rows[0], rows[1:]
    if not body or any(len(r) != len(header) for r in body) or len(set(header)) != len(header):
        return None
    if cfg.target not in header:
        return None
    categorical = list(cfg.categorical) if cfg.categorical != "auto" else []
    features = [h for h in header if h != cfg.target]
    used = [header.index(c) for c in [*features, cfg.target]]
    if any(r[i].lower() in MISSING for r in body for i in used):
        return None
    blocks, names = [], []
    categories = {c: sorted({r[header.index(c)] for r in body}) for c in categorical}
    for column in features:
        cells = [r[header.index(column)] for r in body]
        if column in categories:
            blocks.append(np.array([[float(v == k) for k in categories[column]] for v in cells]))
            names += [f"{column}={k}" for k in categories[column]]
            continue
        try:
            values = np.array([float(v) for v in cells])
        except ValueError:
            return None
        if not np.isfinite(values).all():
            return None
        blocks.append(values[:, None])
        names.append(column)
    y = np.array([r[header.index(cfg.target)] for r in body])
    return Table(np.hstack(blocks), y, names, categories, features, 0)


def assert_same_table(read: Table, reference: Table) -> None:
    assert read.X.dtype == reference.X.dtype and read.X.shape == reference.X.shape
    # bit for bit, but for the sign of zero: pandas reads "-0" as the integer 0 (the same number)
    assert (read.X + 0.0).tobytes() == (reference.X + 0.0).tobytes()
    assert read.y.tolist() == reference.y.tolist()
    assert read.feature_names == reference.feature_names
    assert read.categories == reference.categories
    assert read.dropped_rows == reference.dropped_rows


def both(path: Path, cfg: DataConfig) -> tuple[Table | None, Table | None]:
    try:
        read: Table | None = csvtable.csv_table(cfg)
    except DataError:
        read = None
    return read, reference_table(path, cfg)


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
        'a,b,y\n1,"2",p\n3,4,q\n',  # a quoted field
        "a,b,y\n0.1,1e-320,p\n-0.0,4,01\n",  # a subnormal, a negative zero, a label with a leading zero
    ],
    ids=[
        "plain",
        "crlf",
        "bom-no-final-newline",
        "spaces-and-blank-lines",
        "integer-labels-first",
        "quoted",
        "subnormal-negative-zero",
    ],
)
def test_clean_files_read_as_the_reference_reads_them(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode())
    read, reference = both(path, config(path))
    assert read is not None and reference is not None
    assert_same_table(read, reference)


def test_categories_are_one_hot_encoded_as_the_reference_does():
    path = ROOT / "data" / "flowers.csv"
    read, reference = both(path, config(path, "species", categorical=["garden"]))
    assert read is not None and reference is not None
    assert_same_table(read, reference)


def test_a_file_of_many_parser_blocks_is_read_whole_and_in_order(tmp_path):
    rows = "".join(f"{i},{i * 0.5},{'pq'[i % 2]}\r\n" for i in range(200_000))  # about 3 MB: 3 blocks
    path = tmp_path / "d.csv"
    path.write_bytes(("a,b,y\r\n" + rows).encode())
    read = csvtable.csv_table(config(path))
    assert read.X[:, 0].tolist() == list(range(200_000)) and read.y[-1] == "q"


@pytest.mark.parametrize(
    "text",
    [
        "a,b,y\n1,,p\n3,4,q\n",  # a missing value
        "a,b,y\n1,nan,p\n3,4,q\n",  # a missing-value token
        "a,b,y\n1,2,NA\n3,4,q\n",  # a missing label
        "a,b,y\n1,inf,p\n3,4,q\n",  # not finite
        "a,b,y\n1,2,p,9\n3,4\n",  # ragged rows whose cells add up
        "a,a,y\n1,2,p\n3,4,q\n",  # a repeated column name
        "a,b,z\n1,2,p\n3,4,q\n",  # no data.target column
    ],
)
def test_files_the_reference_refuses_are_refused(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_text(text, newline="")
    assert reference_table(path, config(path)) is None
    with pytest.raises(DataError, match=str(path)):
        csvtable.csv_table(config(path))


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
@given(file=csv_files())
def test_the_reader_and_the_reference_agree_on_every_file_both_accept(file, tmp_path_factory):
    content, cfg, _ = file
    path = tmp_path_factory.mktemp("csv") / "d.csv"
    path.write_bytes(content)
    cfg = config(path, "y", categorical=cfg.categorical)
    read, reference = both(path, cfg)
    event("nnapp read it" if read is not None else "nnapp refuses it")
    event("the reference accepts it" if reference is not None else "the reference refuses it")
    if read is not None and reference is not None:
        assert_same_table(read, reference)
