"""Loaders on the real files in ../shared/data: the counts of shared/data/STATS.md.

Every number below was recomputed independently with pandas from the raw files before it
was written here. Tests skip only when their files are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tfrec.data.errors import DataFormatError
from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import Interactions
from tfrec.data.loaders import FORMATS
from tfrec.data.loaders import load_files
from tfrec.data.loaders import load_hin
from tfrec.data.loaders import load_lrd
from tfrec.data.loaders import load_lrd_item_side
from tfrec.data.loaders import load_lrd_log
from tfrec.data.loaders import load_lrd_split
from tfrec.data.loaders import load_maml_csv
from tfrec.data.loaders import load_movielens
from tfrec.data.loaders import load_movielens_items
from tfrec.data.loaders import load_movielens_ratings
from tfrec.data.loaders import load_s3rec
from tfrec.data.loaders import load_s3rec_item_labels
from tfrec.data.loaders import load_user_item_lines
from tfrec.data.loaders import load_user_item_lines_log
from tfrec.data.splits import leave_one_out


def shared_data_dir() -> Path:
    """The shared data folder: $TFREC_SHARED_DATA, else <repo>/../shared/data."""
    env = os.environ.get("TFREC_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def need(*relative: str) -> list[Path]:
    """Paths under the shared data folder; skips the test if any is absent."""
    paths = [shared_data_dir() / r for r in relative]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"shared data file(s) absent: {', '.join(missing)}")
    return paths


MAML = ("liufancs_MAML/Office/train.csv", "liufancs_MAML/Office/test.csv")
LRD = "ysh1998_LRD_Office"
HIN = "librahu_HIN_Datasets"
MELU = "hoyeoplee_MeLU_ml-1m"
LIBREC = "massquantity_LibRecommender/sample_movielens_rating.dat"


# --------------------------------------------------------------------------- MAML
def test_maml_office_counts_and_ids():
    train, test = need(*MAML)
    data = load_maml_csv(train, test, name="office")
    assert isinstance(data, Interactions)
    assert (data.num_users, data.num_items) == (4874, 2406)
    assert (data.train.nnz, data.test.nnz) == (37027, 15930)
    assert len(data.test_users()) == 4512  # 362 users have no test item (spec/maml.md)
    # The file's ids are the indices: first train row "0,0,A2TM9WEZ2CIXH2,B00006IATF";
    # test row 2 "1294,0,A2TM9WEZ2CIXH2,B000HG6KBU".
    assert data.item_keys[0] == "B00006IATF"
    assert data.item_keys[1294] == "B000HG6KBU"
    assert data.user_keys[0] == "A2TM9WEZ2CIXH2"
    assert data.train[0, 0] == 1.0 and data.test[0, 1294] == 1.0
    assert data.report.duplicate_pairs == {"train": 0, "test": 0}
    assert data.report.users_without_train == 0
    assert (data.report.cold_test_items, data.report.cold_test_interactions) == (1, 5)
    assert data.report.notes == []


def test_maml_office_items_all_have_lrd_text_and_category():
    train, test = need(*MAML)
    (directory,) = need(LRD)
    data = load_maml_csv(train, test)
    data.item_side = load_lrd_item_side(directory)
    texts = data.item_texts()
    assert sum(bool(t) for t in texts) == 2406
    codes, names = data.item_labels()
    assert (codes >= 0).all() and len(names) == 40


# --------------------------------------------------------------------------- LRD
def test_lrd_split_counts_negatives_and_asin_keys():
    (directory,) = need(LRD)
    data = load_lrd_split(directory)
    assert (data.num_users, data.num_items) == (4905, 2420)
    assert (data.train.nnz, data.validation.nnz, data.test.nnz) == (43448, 4905, 4905)
    assert data.stats()["interactions"] == 53258
    assert data.test_negatives.shape == (4905, 99)
    # Users are in id order ("21" is row 20); items in LRD id order (id 27 is column 26).
    # test.csv line 2: "21 27 1070582400 [1654, 836, ...]"; item2index: 27 -> B00006IEIO,
    # 1654 -> B0040M2GLU; dev.csv line 2: "21 26 ..." and 26 -> B00006IE5K.
    user = data.user_index()["21"]
    assert user == 20
    assert data.item_keys[26] == "B00006IEIO"
    assert data.test[user].indices.tolist() == [26]
    assert data.item_keys[data.test_negatives[user, 0]] == "B0040M2GLU"
    assert data.validation[user].indices.tolist() == [data.item_index()["B00006IE5K"]]
    # train.csv line 26: "21 17 1068249600".
    assert data.train_timestamps[user, 16] == 1068249600
    assert any("dev.csv's neg_items (99 per user)" in note for note in data.report.notes)


def test_lrd_item_side():
    (directory,) = need(LRD)
    side = load_lrd_item_side(directory)
    assert len(side.text) == 2420 and len(side.categories) == 2420
    assert side.text["B00000JBLU"] == (
        "Texas Instruments TI-1795 SV Standard Function Calculator Basic Texas Instruments"
    )
    assert side.categories["B00000JBLU"] == ["category:1"]
    assert side.metadata.loc["B00000JBLU", "brand"] == "brand:1"
    assert side.metadata.loc["B00000JBLU", "lrd_index"] == 170
    assert len({labels[0] for labels in side.categories.values()}) == 40
    assert side.metadata["brand"].isna().sum() == 481  # i_brand == 0


def test_lrd_full_attaches_side_info():
    (directory,) = need(LRD)
    data = load_lrd(directory)
    assert sum(bool(t) for t in data.item_texts()) == 2420


def test_lrd_log_resplit_by_time_is_lrd_split_with_dev_in_train():
    (directory,) = need(LRD)
    log = load_lrd_log(directory)
    assert len(log.frame) == 53258 and log.has_timestamps
    assert len(log.item_side.text) == 2420
    released = load_lrd_split(directory)
    resplit = leave_one_out(log)

    def pairs(matrix, data):
        rows = matrix.tocoo()
        return set(zip(data.user_keys[rows.row], data.item_keys[rows.col], strict=True))

    # LRD's test = each user's latest event, so leave-one-out by time gives the same 4,905
    # test pairs, and its training set is LRD's train plus dev.
    assert pairs(resplit.test, resplit) == pairs(released.test, released)
    assert len(pairs(resplit.test, resplit)) == 4905
    assert pairs(resplit.train, resplit) == pairs(released.train + released.validation, released)


# --------------------------------------------------------------------------- a2_gcn
@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        ("Cloth", (39387, 23033, 220756, 57920, 23033, 130997, 760, 1, 5)),
        ("Toys_and_Games", (19412, 11924, 138835, 28761, 11579, 26844, 406, 2, 11)),
    ],
)
def test_a2_gcn_counts(dataset, expected):
    train, test, tags = need(
        *(f"liufancs_a2_gcn/{dataset}/{f}" for f in ("train.txt", "test.txt", "tag.txt"))
    )
    data = load_user_item_lines(train, test, tags, name=dataset)
    users, items, n_train, n_test, tagged, pairs, distinct, cold, cold_rows = expected
    assert (data.num_users, data.num_items, data.train.nnz, data.test.nnz) == (
        users,
        items,
        n_train,
        n_test,
    )
    assert data.user_keys[5] == "5" and data.item_keys[7] == "7"
    tag_lists = data.item_side.tags
    assert len(tag_lists) == tagged
    assert sum(len(v) for v in tag_lists.values()) == pairs
    assert len({t for v in tag_lists.values() for t in v}) == distinct
    assert (data.report.cold_test_items, data.report.cold_test_interactions) == (cold, cold_rows)
    assert data.report.duplicate_pairs == {"train": 0, "test": 0}


def test_a2_gcn_cloth_first_lines():
    train, test = need("liufancs_a2_gcn/Cloth/train.txt", "liufancs_a2_gcn/Cloth/test.txt")
    data = load_user_item_lines(train, test)
    # train.txt line 1: "0 17819 1883 3676 9193 11763"; test.txt line 1: "0 4954 10286".
    assert data.train[0].indices.tolist() == sorted([17819, 1883, 3676, 9193, 11763])
    assert data.test[0].indices.tolist() == [4954, 10286]


def test_user_item_lines_log_joins_the_files_in_order(tmp_path):
    train, test, tags = tmp_path / "train.txt", tmp_path / "test.txt", tmp_path / "tag.txt"
    train.write_text("0 5 3\r\n1 2\r\n")
    test.write_text("0 7 3\n2 4\n")  # (0, 3) repeats a training pair.
    tags.write_text("5 1\n5 1\n7 2\n")
    log = load_user_item_lines_log(train, test, tag_path=tags, name="toy")
    assert list(zip(log.frame["user"], log.frame["item"], strict=True)) == [
        ("0", "5"), ("0", "3"), ("1", "2"), ("0", "7"), ("2", "4"),
    ]  # fmt: skip
    assert not log.has_timestamps and log.name == "toy"
    assert log.report.dropped["(user, item) pairs repeated across or within the files"] == 1
    assert log.item_side.tags == {"5": ["tag:1"], "7": ["tag:2"]}


def test_user_item_lines_log_names_a_bad_token(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("0 5 3\n1 x\n")
    with pytest.raises(DataFormatError, match="line 2") as info:
        load_user_item_lines_log(path)
    assert "train.txt" in str(info.value)


# --------------------------------------------------------------------------- S3-Rec
@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        ("Beauty", (198502, 22363, 12101, 637, 11996, 38)),
        ("Sports_and_Outdoors", (296337, 35598, 18357, 2277, 18114, 32)),
    ],
)
def test_s3rec_counts(dataset, expected):
    sequences, attributes = need(
        f"aHuiWang_S3Rec/{dataset}.txt", f"aHuiWang_S3Rec/{dataset}_item2attributes.json"
    )
    log = load_s3rec(sequences, attributes, name=dataset)
    rows, users, items, attrs, labelled, labels = expected
    assert isinstance(log, InteractionLog)
    frame = log.frame
    assert (len(frame), frame["user"].nunique(), frame["item"].nunique()) == (rows, users, items)
    assert len({a for v in log.item_side.tags.values() for a in v}) == attrs
    assert len(log.item_side.categories) == labelled
    assert len({v[0] for v in log.item_side.categories.values()}) == labels
    assert log.report.duplicate_pairs == {"log": 0}


def test_s3rec_beauty_sequence_positions_and_attributes():
    sequences, attributes = need(
        "aHuiWang_S3Rec/Beauty.txt", "aHuiWang_S3Rec/Beauty_item2attributes.json"
    )
    log = load_s3rec(sequences, attributes)
    # Line 2 of Beauty.txt: "2 6 7 8 9 10 4 11".
    user2 = log.frame[log.frame["user"] == "2"]
    assert user2["item"].tolist() == ["6", "7", "8", "9", "10", "4", "11"]
    assert user2["timestamp"].tolist() == list(range(7))
    # The JSON starts {"4": [1, 2, 3], "83": [4, 5, 6], ...}: attribute 1 is first in item
    # 4's list and later in item 1148's [24, 1, 25, 26], so item 4 has no brand and its
    # level-2 category is its second attribute, 2.
    assert log.item_side.tags["4"] == ["attr:1", "attr:2", "attr:3"]
    assert log.item_side.categories["4"] == ["attr:2"]
    assert load_s3rec_item_labels(attributes, level=1)["4"] == ["attr:1"]


def test_s3rec_sports_level_one_is_uninformative():
    (attributes,) = need("aHuiWang_S3Rec/Sports_and_Outdoors_item2attributes.json")
    labels = load_s3rec_item_labels(attributes, level=1)
    counts = np.unique([v[0] for v in labels.values()], return_counts=True)[1]
    assert len(labels) == 18357 and counts.max() == 18146


# --------------------------------------------------------------------------- HIN
def test_hin_yelp():
    ratings, categories = need(f"{HIN}/Yelp/user_business.dat", f"{HIN}/Yelp/business_category.dat")
    log = load_hin(ratings, item_category_path=categories, name="yelp")
    frame = log.frame
    assert (len(frame), frame["user"].nunique(), frame["item"].nunique()) == (198397, 16239, 14284)
    values, counts = np.unique(frame["rating"], return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == {
        1.0: 10696,
        2.0: 17715,
        3.0: 35810,
        4.0: 75918,
        5.0: 58258,
    }
    side = log.item_side.categories
    assert len(side) == 14180
    assert sum(len(v) for v in side.values()) == 40009
    assert len({c for v in side.values() for c in v}) == 511
    assert side["1"] == ["category:334", "category:426"]  # lines 1-2: "1 334 1", "1 426 1"
    assert log.report.duplicate_pairs == {"log": 0}


def test_hin_yelp_min_rating_is_counted():
    (ratings,) = need(f"{HIN}/Yelp/user_business.dat")
    log = load_hin(ratings, min_rating=4)
    assert len(log.frame) == 75918 + 58258
    assert log.report.dropped == {"rating < 4": 10696 + 17715 + 35810}


def test_hin_movielens_100k():
    ratings, genres = need(f"{HIN}/Movielens/user_movie.dat", f"{HIN}/Movielens/movie_genre.dat")
    log = load_hin(ratings, item_category_path=genres, name="ml-100k")
    frame = log.frame
    assert (len(frame), frame["user"].nunique(), frame["item"].nunique()) == (100000, 943, 1682)
    # Line 1: "196 242 3 881250949".
    assert frame.iloc[0].tolist() == ["196", "242", 3.0, 881250949]
    assert len(log.item_side.categories) == 1680
    assert len({c for v in log.item_side.categories.values() for c in v}) == 18
    assert log.item_side.categories["1"] == ["genre:3", "genre:4", "genre:5"]


# --------------------------------------------------------------------------- MovieLens
def test_librecommender_sample_and_melu_join():
    (ratings,) = need(LIBREC)
    movies, extras = need(f"{MELU}/movies.dat", f"{MELU}/movies_extrainfos.dat")
    log = load_movielens(ratings, movies, extras, name="ml-1m-sample")
    frame = log.frame
    assert (len(frame), frame["user"].nunique(), frame["item"].nunique()) == (100000, 5958, 3312)
    assert frame.iloc[0].tolist() == ["5488", "488", 3.0, 959821507]  # line 1
    items = set(frame["item"])
    extras_ids = set(load_movielens_items(extras_path=extras).metadata.index)
    assert len(items & extras_ids) == 3311 and items - extras_ids == {"860"}
    assert len(items & set(log.item_side.text)) == 3303  # 8 entries have plot "N/A"


def test_melu_items():
    movies, extras = need(f"{MELU}/movies.dat", f"{MELU}/movies_extrainfos.dat")
    side = load_movielens_items(movies, extras)
    assert len(side.metadata) == 3881 and len(side.text) == 3845
    assert side.text["1"].startswith("A little boy named Andy loves to be in his room")
    assert side.categories["1"] == ["Animation", "Children's", "Comedy"]
    assert len({g for v in side.categories.values() for g in v}) == 18
    row = side.metadata.loc["1"]
    assert (row["title"], row["year"], row["rated"], row["director"]) == (
        "Toy Story",
        1995,
        "G",
        "John Lasseter",
    )
    assert row["genres"] == "Animation|Children's|Comedy"
    assert row["poster_url"].startswith("https://m.media-amazon.com/images/M/")
    with_poster = side.metadata["poster_url"].notna()
    assert int((with_poster & side.metadata.index.isin(list(side.text))).sum()) == 3823
    omdb = load_movielens_items(extras_path=extras)
    assert omdb.categories["1"] == ["Animation", "Adventure", "Comedy"]


def test_movielens_ratings_type():
    (ratings,) = need(LIBREC)
    log = load_movielens_ratings(ratings)
    assert log.has_ratings and log.has_timestamps
    assert log.frame["timestamp"].dtype == np.int64


# --------------------------------------------------------------------------- registry
def test_load_files_by_cli_flags_matches_direct_call():
    train, test = need(*MAML)
    data = load_files("maml-csv", train=train, test=test, name="office")
    assert data.name == "office" and data.stats()["interactions"] == 52957
    assert FORMATS["maml-csv"].returns is Interactions


def test_load_files_log_format():
    (ratings,) = need(f"{HIN}/Movielens/user_movie.dat")
    log = load_files("hin", user_item_path=ratings, min_rating=5)
    assert isinstance(log, InteractionLog) and len(log.frame) == 21201
