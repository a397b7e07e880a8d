"""Loaders on small hand-written files: exact values, reports, and malformed input.

Every malformed-input test asserts that the error names the file, the exact 1-based line
(header included) and, where one field is at fault, the 1-based column.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tfrec.data.errors import DataFormatError
from tfrec.data.loaders import FORMATS
from tfrec.data.loaders import load_files
from tfrec.data.loaders import load_hin
from tfrec.data.loaders import load_lrd_item_side
from tfrec.data.loaders import load_lrd_split
from tfrec.data.loaders import load_maml_csv
from tfrec.data.loaders import load_movielens_items
from tfrec.data.loaders import load_movielens_ratings
from tfrec.data.loaders import load_ncf
from tfrec.data.loaders import load_s3rec
from tfrec.data.loaders import load_user_item_lines
from tfrec.data.loaders import s3rec_item_categories


def write(directory, name: str, text: str, encoding: str = "utf-8"):
    path = directory / name
    path.write_bytes(text.encode(encoding))
    return path


def check(error: pytest.ExceptionInfo, path, line: int | None, column: int | None = None):
    exc = error.value
    assert isinstance(exc, DataFormatError)
    assert exc.path == str(path)
    assert (exc.line, exc.column) == (line, column)
    message = str(exc)
    assert message.startswith(str(path))
    if line is not None:
        assert f"line {line}" in message
    if column is not None:
        assert f"column {column}" in message


# --------------------------------------------------------------------------- MAML CSV
MAML_HEADER = "itemID,userID,reviewerID,asin\n"


def maml_files(tmp_path, train_rows: str, test_rows: str = "0,1,U1,A0\n"):
    return (
        write(tmp_path, "train.csv", MAML_HEADER + train_rows),
        write(tmp_path, "test.csv", MAML_HEADER + test_rows),
    )


def test_maml_small_split_keeps_ids_and_counts_duplicates(tmp_path):
    train, test = maml_files(tmp_path, "0,0,U0,A0\n2,0,U0,A2\n2,0,U0,A2\n1,1,U1,A1\n")
    data = load_maml_csv(train, test)
    assert data.item_keys.tolist() == ["A0", "A1", "A2"]
    assert data.user_keys.tolist() == ["U0", "U1"]
    np.testing.assert_array_equal(data.train.toarray(), [[1, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(data.test.toarray(), [[0, 0, 0], [1, 0, 0]])
    assert data.report.duplicate_pairs == {"train": 1, "test": 0}


def test_maml_id_gap_gets_placeholder_key(tmp_path):
    train, test = maml_files(tmp_path, "0,0,U0,A0\n3,0,U0,A3\n")
    data = load_maml_csv(train, test)
    assert data.item_keys.tolist() == ["A0", "item:1", "item:2", "A3"]
    assert any("2 item ids in 0..3 occur in no file" in n for n in data.report.notes)


def test_maml_train_test_overlap_is_noted(tmp_path):
    train, test = maml_files(tmp_path, "0,1,U1,A0\n", "0,1,U1,A0\n")
    data = load_maml_csv(train, test)
    assert "1 (user, item) pairs are in both train and test" in data.report.notes


@pytest.mark.parametrize(
    ("rows", "line", "column", "words"),
    [
        ("0,0,U0,A0\n1,0,U0\n", 3, None, "expected 4 comma-separated fields"),
        ("0,0,U0,A0\n1,0,U0,A1,extra\n", 3, None, "got 5"),
        ("0,0,U0,A0\nx1,0,U0,A1\n", 3, 1, "itemID must be a non-negative integer"),
        ("0,0,U0,A0\n1,2.5,U0,A1\n", 3, 2, "userID must be a non-negative integer"),
        ("0,0,U0,A0\n1,-4,U0,A1\n", 3, 2, "'-4'"),
        ("0,0,U0,A0\n0,0,U0,A9\n", 3, 4, "itemID 0 has asin 'A9' here but 'A0' on line 2"),
        ("0,0,U0,A0\n5,0,U0,A0\n", 3, 1, "asin 'A0' has itemID 5 here but 0 on line 2"),
        ("0,0,U0,A0\n\n1,0,UX,A1\n", 4, 3, "userID 0 has reviewerID 'UX'"),
    ],
)
def test_maml_malformed_train(tmp_path, rows, line, column, words):
    train, test = maml_files(tmp_path, rows)
    with pytest.raises(DataFormatError, match=words) as error:
        load_maml_csv(train, test)
    check(error, train, line, column)


def test_maml_clash_across_files_names_test_file(tmp_path):
    train, test = maml_files(tmp_path, "0,0,U0,A0\n", "0,1,U1,A0\n1,1,U1,A0\n")
    with pytest.raises(DataFormatError, match="on line 2 of train.csv") as error:
        load_maml_csv(train, test)
    check(error, test, 3, 1)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "the file is empty"),
        ("\n  \n", "the file is empty"),
        ("0,0,U0,A0\n", "expected the header line 'itemID,userID,reviewerID,asin'"),
        ("userID,itemID,reviewerID,asin\n0,0,U0,A0\n", "expected the header line"),
    ],
)
def test_maml_empty_or_headerless(tmp_path, text, words):
    train = write(tmp_path, "train.csv", text)
    test = write(tmp_path, "test.csv", MAML_HEADER + "0,0,U0,A0\n")
    with pytest.raises(DataFormatError, match=words) as error:
        load_maml_csv(train, test)
    check(error, train, 1)


def test_maml_header_only_is_an_error(tmp_path):
    train, test = maml_files(tmp_path, "")
    with pytest.raises(DataFormatError, match="a header line but no data lines") as error:
        load_maml_csv(train, test)
    check(error, train, 2)


def test_maml_undecodable_bytes(tmp_path):
    train = tmp_path / "train.csv"
    train.write_bytes(MAML_HEADER.encode() + b"0,0,U0,A0\n1,0,U0,\xff\xfe\n")
    test = write(tmp_path, "test.csv", MAML_HEADER + "0,0,U0,A0\n")
    with pytest.raises(DataFormatError, match="0xff is not valid utf-8") as error:
        load_maml_csv(train, test)
    check(error, train, 3)


# --------------------------------------------------------------------------- LRD
def lrd_folder(tmp_path, *, test_rows="2\t3\t30\t[1, 2]\n", index=True):
    write(tmp_path, "train.csv", "user_id\titem_id\ttime\n1\t1\t10\n2\t2\t20\n1\t2\t11\n")
    write(tmp_path, "dev.csv", "user_id\titem_id\ttime\tneg_items\n1\t3\t12\t[2]\n")
    write(tmp_path, "test.csv", "user_id\titem_id\ttime\tneg_items\n" + test_rows)
    if index:
        write(tmp_path, "Toy.item2index", "A1\t1\nA2\t2\nA3\t3\n")
    return tmp_path


def test_lrd_small_split(tmp_path):
    data = load_lrd_split(lrd_folder(tmp_path))
    assert data.user_keys.tolist() == ["1", "2"]
    assert data.item_keys.tolist() == ["A1", "A2", "A3"]
    np.testing.assert_array_equal(data.train.toarray(), [[1, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(data.validation.toarray(), [[0, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(data.test.toarray(), [[0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(data.test_negatives, [[-1, -1], [0, 1]])
    np.testing.assert_array_equal(data.train_timestamps.toarray(), [[10, 11, 0], [0, 20, 0]])
    # Test negative item 2 of user 2 is one of its training items.
    assert "1 sampled test negatives are positives of their user" in " ".join(data.report.notes)


def test_lrd_without_item2index_keeps_integer_keys(tmp_path):
    data = load_lrd_split(lrd_folder(tmp_path, index=False))
    assert data.item_keys.tolist() == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("rows", "line", "column", "words"),
    [
        ("2\t3\t30\t1, 2\n", 2, 4, r"neg_items must be a list like \[1, 2, 3\]"),
        ("2\t3\t30\t[1, 2]\n1\t2\t5\t[1, x]\n", 3, 4, "neg_items entries must be a non-negative"),
        ("2\t3\t30\t[1,, 2]\n", 2, 4, "neg_items entries"),
        ("2\t3\t30\n", 2, None, "expected 4 tab-separated fields"),
        ("2\tB\t30\t[1]\n", 2, 2, "item_id must be a non-negative integer"),
        ("2\t3\t30\t[1, 9]\n", 2, 4, "item id 9 is not in the item index"),
        ("2\t7\t30\t[1]\n", 2, 2, "item id 7 is not in the item index"),
    ],
)
def test_lrd_malformed_test_file(tmp_path, rows, line, column, words):
    folder = lrd_folder(tmp_path, test_rows=rows)
    with pytest.raises(DataFormatError, match=words) as error:
        load_lrd_split(folder)
    check(error, folder / "test.csv", line, column)


def test_lrd_missing_header(tmp_path):
    folder = lrd_folder(tmp_path)
    write(tmp_path, "train.csv", "1\t1\t10\n")
    with pytest.raises(DataFormatError, match="expected the header line") as error:
        load_lrd_split(folder)
    check(error, folder / "train.csv", 1)


def test_lrd_item_side_small(tmp_path):
    write(tmp_path, "Toy.item2index", "A1\t1\nA2\t2\n")
    write(tmp_path, "Toy.text", "id\ttext\nA1\tPen Blue\tBIC\nA2\tPaper\n")
    write(
        tmp_path,
        "item_meta.csv",
        "item_id\ti_category\ti_brand\tr_complement\tr_substitute\n2\t0\t0\t[]\t[]\n"
        "1\t5\t3\t[2]\t[]\n",
    )
    side = load_lrd_item_side(tmp_path)
    assert side.text == {"A1": "Pen Blue\tBIC", "A2": "Paper"}
    assert side.categories == {"A2": ["category:0"], "A1": ["category:5"]}
    assert side.metadata.loc["A1", "brand"] == "brand:3"
    assert pd.isna(side.metadata.loc["A2", "brand"])


def test_lrd_item_side_errors(tmp_path):
    write(tmp_path, "Toy.text", "id\ttext\nA1\tPen\nA2\n")
    with pytest.raises(DataFormatError, match="expected `id<TAB>text`") as error:
        load_lrd_item_side(tmp_path)
    check(error, tmp_path / "Toy.text", 3)
    write(tmp_path, "Toy.text", "A1\tPen\n")
    with pytest.raises(DataFormatError, match="header") as error:
        load_lrd_item_side(tmp_path)
    check(error, tmp_path / "Toy.text", 1)


def test_lrd_duplicate_index_id(tmp_path):
    folder = lrd_folder(tmp_path)
    write(tmp_path, "Toy.item2index", "A1\t1\nA2\t2\nA3\t2\n")
    with pytest.raises(DataFormatError, match="item_id 2 occurs on an earlier line") as error:
        load_lrd_split(folder)
    check(error, tmp_path / "Toy.item2index", 3, 2)


# --------------------------------------------------------------------------- NCF
def ncf_files(tmp_path, train=None, test=None, negative=None):
    train = train or "0\t1\t5\t100\n0\t2\t4\t101\n1\t0\t3\t102\n1\t2\t0\t103\n"
    test = test or "0\t3\t5\t200\n1\t1\t4\t201\n"
    negative = negative or "(0,3)\t0\t4\n(1,1)\t3\t4\n"
    return (
        write(tmp_path, "toy.train.rating", train),
        write(tmp_path, "toy.test.rating", test),
        write(tmp_path, "toy.test.negative", negative),
    )


def test_ncf_small_files(tmp_path):
    data = load_ncf(*ncf_files(tmp_path), name="toy")
    assert data.user_keys.tolist() == ["0", "1"]
    assert data.item_keys.tolist() == ["0", "1", "2", "3", "4"]  # item 4: a negative only
    np.testing.assert_array_equal(data.train.toarray(), [[0, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(data.test.toarray(), [[0, 0, 0, 1, 0], [0, 1, 0, 0, 0]])
    np.testing.assert_array_equal(data.test_negatives, [[0, 4], [3, 4]])
    assert data.train_timestamps[0, 2] == 101
    assert data.report.dropped == {"rating <= 0 in train (NCF's Dataset.py skips them)": 1}
    assert data.report.cold_test_items == 1  # item 3 (item 1 is in train of user 0)


def test_ncf_three_field_files_and_no_negatives(tmp_path):
    train, test, _ = ncf_files(tmp_path, train="0\t0\t1\n1\t1\t1\n", test="0\t1\t1\n")
    data = load_ncf(train, test)
    assert data.test_negatives is None and data.train_timestamps is None
    assert data.stats()["interactions"] == 3


@pytest.mark.parametrize(
    ("which", "text", "line", "column", "words"),
    [
        ("train", "0\t1\t5\t100\n0\t2\t4\n", 2, None, "expected 4 tab-separated fields"),
        ("train", "0\t1\t5\t100\n0\tx\t4\t1\n", 2, 2, "item must be a non-negative integer"),
        ("train", "0\t1\t5\t100\n0\t1\tgood\t1\n", 2, 3, "rating must be a number"),
        ("test", "0\t3\t5\t200\n\n1 1 4 201\n", 3, None, "expected 4 tab-separated fields"),
        ("negative", "(0,3)\t0\t4\n(1;1)\t3\t4\n", 2, 1, "must be a \\(user,item\\) pair"),
        ("negative", "(0,3)\t0\t4\n(1,1)\t3\tz\n", 2, 3, "negative item must be a non-neg"),
        ("negative", "(0,3)\t0\t4\n(1,2)\t3\t4\n", 2, 1, r"\(1,2\) is not a pair of the test"),
        ("negative", "(0,3)\t0\n(0,3)\t4\n", 2, 1, "user 0 already has negatives on line 1"),
        ("negative", "", 1, None, "the file is empty"),
    ],
)
def test_ncf_malformed(tmp_path, which, text, line, column, words):
    paths = dict(zip(("train", "test", "negative"), ncf_files(tmp_path), strict=True))
    write(tmp_path, paths[which].name, text)
    with pytest.raises(DataFormatError, match=words) as error:
        load_ncf(*paths.values())
    check(error, paths[which], line, column)


# --------------------------------------------------------------------------- a2_gcn lines
def test_user_item_lines_small(tmp_path):
    train = write(tmp_path, "train.txt", "0 1 2 2\r\n2 0\r\n")
    test = write(tmp_path, "test.txt", "0 0\r\n1\r\n2 3\r\n")
    tags = write(tmp_path, "tag.txt", "1 7\r\n1 5\r\n3 7\r\n1 7\r\n")
    data = load_user_item_lines(train, test, tags)
    np.testing.assert_array_equal(data.train.toarray(), [[0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]])
    np.testing.assert_array_equal(data.test.toarray(), [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]])
    assert data.report.duplicate_pairs == {"train": 1, "test": 0}
    assert data.report.cold_test_items == 1  # item 3
    assert data.item_side.tags == {"1": ["tag:7", "tag:5"], "3": ["tag:7"]}
    assert data.report.dropped == {"repeated (item, tag) pairs in the tag file": 1}


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("0 1 2\n1 4 x 5\n", 2, 3, "id must be a non-negative integer, got 'x'"),
        ("0 1 2\n\n1 4 -5\n", 3, 3, "got '-5'"),
        ("0 1 2\n1.5 4\n", 2, 1, "got '1.5'"),
        ("", 1, None, "the file is empty"),
    ],
)
def test_user_item_lines_malformed(tmp_path, text, line, column, words):
    train = write(tmp_path, "train.txt", text)
    test = write(tmp_path, "test.txt", "0 1\n")
    with pytest.raises(DataFormatError, match=words) as error:
        load_user_item_lines(train, test)
    check(error, train, line, column)


def test_user_item_tags_malformed(tmp_path):
    train = write(tmp_path, "train.txt", "0 1\n")
    tags = write(tmp_path, "tag.txt", "0 1\n1 2 3\n")
    with pytest.raises(DataFormatError, match="expected 2 whitespace-separated") as error:
        load_user_item_lines(train, train, tags)
    check(error, tags, 2)


# --------------------------------------------------------------------------- S3-Rec
def test_s3rec_small(tmp_path):
    sequences = write(tmp_path, "Toy.txt", "1 3 1 3\n2 2\n3\n")
    attributes = write(tmp_path, "Toy_item2attributes.json", json.dumps({"1": [9, 4], "2": [4]}))
    log = load_s3rec(sequences, attributes)
    assert log.frame["user"].tolist() == ["1", "1", "1", "2"]
    assert log.frame["item"].tolist() == ["3", "1", "3", "2"]
    assert log.frame["timestamp"].tolist() == [0, 1, 2, 0]
    assert log.report.duplicate_pairs == {"log": 1}
    assert log.report.dropped == {"users whose sequence is empty": 1}
    assert log.item_side.tags == {"1": ["attr:9", "attr:4"], "2": ["attr:4"]}


def test_s3rec_category_rule_hand_computed():
    # 7 is a brand (first, never later); 1 and 2 are level-1 values (1 appears later in
    # item "b", so item "a" has no brand); "d" has only a brand.
    attributes = {"a": [1, 5, 6], "b": [7, 1, 5], "c": [7, 2], "d": [7]}
    assert s3rec_item_categories(attributes, level=1) == {
        "a": ["attr:1"],
        "b": ["attr:1"],
        "c": ["attr:2"],
    }
    assert s3rec_item_categories(attributes, level=2) == {"a": ["attr:5"], "b": ["attr:5"]}
    with pytest.raises(ValueError, match="Expected an integer >= 1"):
        s3rec_item_categories(attributes, level=0)


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('{"1": [1, 2],\n "2": [3,, 4]}', 2, 10, "invalid JSON"),
        ('{"1": [1, 2], "2": [3, 4]', 1, 26, "invalid JSON"),
        ("[1, 2]", 1, 1, "expected a JSON object"),
        ('{"1": [1],\n "x": [2]}', 2, 2, "item id 'x' is not a non-negative integer"),
        ('{"1": [1],\n "2": "3"}', 2, 2, "the attributes of item 2 must be a list of integers"),
        ("", 1, None, "the file is empty"),
    ],
)
def test_s3rec_bad_attributes(tmp_path, text, line, column, words):
    sequences = write(tmp_path, "Toy.txt", "1 1 2\n")
    attributes = write(tmp_path, "Toy_item2attributes.json", text)
    with pytest.raises(DataFormatError, match=words) as error:
        load_s3rec(sequences, attributes)
    check(error, attributes, line, column)


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("1 1 2\n2 3 y\n", 2, 3, "got 'y'"),
        ("1 1 2\n2 3\n1 4\n", 3, 1, "user 1 already has a sequence on line 1"),
    ],
)
def test_s3rec_malformed_sequences(tmp_path, text, line, column, words):
    sequences = write(tmp_path, "Toy.txt", text)
    with pytest.raises(DataFormatError, match=words) as error:
        load_s3rec(sequences)
    check(error, sequences, line, column)


# --------------------------------------------------------------------------- HIN
def test_hin_small_with_categories_and_duplicates(tmp_path):
    ratings = write(tmp_path, "user_item.dat", "1\t10\t5\n1\t11\t2\n2\t10\t4\n1\t10\t3\n")
    categories = write(tmp_path, "item_category.dat", "10\t3\t1\n10\t1\t1\n11\t3\t1\n10\t3\t1\n")
    log = load_hin(ratings, item_category_path=categories, min_rating=3)
    assert log.frame.values.tolist() == [["1", "10", 5.0], ["2", "10", 4.0], ["1", "10", 3.0]]
    assert log.report.dropped == {"rating < 3": 1}
    assert log.report.duplicate_pairs == {"log": 1}
    assert log.item_side.categories == {"10": ["category:3", "category:1"], "11": ["category:3"]}


def test_hin_item_first_space_separated(tmp_path):
    path = write(tmp_path, "business_user.txt", "0 5 1\n0 6 2\n1 5 1\n")
    log = load_hin(path, item_first=True)
    assert log.frame[["user", "item"]].values.tolist() == [["5", "0"], ["6", "0"], ["5", "1"]]


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("1\t10\t5\n1\t11\n", 2, None, "expected 3 tab-separated fields"),
        ("1\t10\t5\n1\t11\t5\t7\n", 2, None, "got 4"),
        ("1\t10\t5\nu2\t11\t5\n", 2, 1, "user must be a non-negative integer"),
        ("1\t10\t5\n2\t11\tfive\n", 2, 3, "rating must be a number"),
        ("1\t10\t5\n2\t11\tnan\n", 2, 3, "rating must be a finite number"),
        ("\n", 1, None, "the file is empty"),
    ],
)
def test_hin_malformed(tmp_path, text, line, column, words):
    path = write(tmp_path, "user_item.dat", text)
    with pytest.raises(DataFormatError, match=words) as error:
        load_hin(path)
    check(error, path, line, column)


def test_hin_min_rating_needs_ratings(tmp_path):
    path = write(tmp_path, "user_item.dat", "1\t10\n")
    with pytest.raises(ValueError, match="Expected `min_rating=None`"):
        load_hin(path, min_rating=3)


# --------------------------------------------------------------------------- MovieLens
def test_movielens_ratings_small(tmp_path):
    path = write(tmp_path, "ratings.dat", "1::10::5::978300760\n1::11::2::978300761\n")
    log = load_movielens_ratings(path, min_rating=3)
    assert log.frame.values.tolist() == [["1", "10", 5.0, 978300760]]
    assert log.report.dropped == {"rating < 3": 1}


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("1::10::5::9\n1::11::2\n", 2, None, "expected 4 '::'-separated fields"),
        ("1::10::5::9\n1::11::2::9::0\n", 2, None, "got 5"),
        ("1::10::5::9\n1::eleven::2::9\n", 2, 2, "item must be a non-negative integer"),
        ("1::10::5::9\n1::11::2::9.5\n", 2, 4, "timestamp must be an integer"),
        ("1::10::5::9\n1\t11::2::9\n", 2, None, "got 3"),
        ("", 1, None, "the file is empty"),
    ],
)
def test_movielens_ratings_malformed(tmp_path, text, line, column, words):
    path = write(tmp_path, "ratings.dat", text)
    with pytest.raises(DataFormatError, match=words) as error:
        load_movielens_ratings(path)
    check(error, path, line, column)


def test_movielens_items_latin1_and_na(tmp_path):
    movies = write(
        tmp_path,
        "movies.dat",
        "73::Misérables, Les (1995)::Drama|Musical\n2::Jumanji::Fantasy\n",
        encoding="latin-1",
    )
    extras = write(
        tmp_path,
        "movies_extrainfos.dat",
        "73::Les Misérables::1995::R::N/A::Drama, Musical::D::W::A::A plot.::http://p\r\n"
        "5::X::1999::N/A::N/A::Comedy::D::W::A::N/A::N/A\r\n",
    )
    side = load_movielens_items(movies, extras)
    assert side.text == {"73": "A plot."}
    assert side.categories == {"73": ["Drama", "Musical"], "2": ["Fantasy"]}
    meta = side.metadata
    assert meta.loc["73", "title"] == "Les Misérables"  # extras' title wins
    assert meta.loc["2", "title"] == "Jumanji"
    assert meta.loc["73", "genres"] == "Drama|Musical"
    assert meta.loc["73", "year"] == 1995 and meta.loc["5", "year"] == 1999
    assert pd.isna(meta.loc["5", "rated"]) and pd.isna(meta.loc["5", "poster_url"])  # "N/A"
    only_movies = load_movielens_items(movies)
    assert only_movies.metadata.loc["73", "title"] == "Misérables, Les (1995)"
    omdb = load_movielens_items(movies, extras, categories_from="extras")
    assert omdb.categories == {"73": ["Drama", "Musical"], "5": ["Comedy"]}


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("1::Toy Story::Animation\n2::Jumanji\n", 2, None, "expected 3 '::'-separated fields"),
        ("1::Toy Story::Animation\nB::Jumanji::Fantasy\n", 2, 1, "id must be a non-negative"),
        ("1::Toy Story::Animation\n\n1::Again::Drama\n", 3, 1, "occurs on an earlier line"),
    ],
)
def test_movielens_items_malformed(tmp_path, text, line, column, words):
    movies = write(tmp_path, "movies.dat", text)
    with pytest.raises(DataFormatError, match=words) as error:
        load_movielens_items(movies)
    check(error, movies, line, column)


def test_movielens_items_needs_a_file():
    with pytest.raises(ValueError, match="Expected at least one file"):
        load_movielens_items()


# --------------------------------------------------------------------------- registry
def test_registry_names():
    assert sorted(FORMATS) == [
        "hin",
        "lrd",
        "maml-csv",
        "movielens",
        "ncf",
        "s3rec",
        "user-item-lines",
    ]
    assert FORMATS["ncf"].paths == ("train_rating", "test_rating", "test_negative")
    assert FORMATS["ncf"].flags["negatives"] == "test_negative"
    assert "name" in FORMATS["hin"].options and "min_rating" in FORMATS["hin"].options


def test_load_files_unknown_format_lists_names():
    with pytest.raises(ValueError, match="Expected one of: hin, lrd, maml-csv, movielens, ncf"):
        load_files("csv")


def test_load_files_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="Received no `test_path` for format 'maml-csv'"):
        load_files("maml-csv", train=tmp_path / "train.csv")
    with pytest.raises(ValueError, match="Expected one of: .*train_path"):
        load_files("maml-csv", training=tmp_path / "train.csv")


def test_load_files_ncf_by_flags(tmp_path):
    train, test, negative = ncf_files(tmp_path)
    data = load_files("ncf", train=train, test=test, negatives=negative, name="toy")
    assert data.name == "toy" and data.test_negatives.shape == (2, 2)
