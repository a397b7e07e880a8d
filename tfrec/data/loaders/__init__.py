"""File-format loaders: public research data files -> `Interactions` / `InteractionLog`.

One module per format. Pre-split formats return `Interactions`; unsplit logs return an
`InteractionLog` for a splitter. Every loader parses vectorised, reports the first malformed
line as a `DataFormatError` (file, 1-based line, field), and counts what it finds
(duplicates, cold items, dropped rows) in the returned `report` instead of dropping silently.

`FORMATS` maps each format name to a `LoaderInfo`; `load_files(format_name, **paths)` is
the generic entry point used by the CLI (`--format`, `--train`, `--test`, ...).

Example:
>>> from tfrec.data.loaders import load_files
>>> data = load_files("maml-csv", train="Office/train.csv", test="Office/test.csv")
"""

from __future__ import annotations

from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import Interactions
from tfrec.data.loaders.hin import load_hin
from tfrec.data.loaders.hin import load_hin_item_categories
from tfrec.data.loaders.loader_info import LoaderInfo
from tfrec.data.loaders.lrd import load_lrd
from tfrec.data.loaders.lrd import load_lrd_item_side
from tfrec.data.loaders.lrd import load_lrd_log
from tfrec.data.loaders.lrd import load_lrd_split
from tfrec.data.loaders.maml_csv import load_maml_csv
from tfrec.data.loaders.movielens import load_movielens
from tfrec.data.loaders.movielens import load_movielens_items
from tfrec.data.loaders.movielens import load_movielens_ratings
from tfrec.data.loaders.ncf import load_ncf
from tfrec.data.loaders.s3rec import load_s3rec
from tfrec.data.loaders.s3rec import load_s3rec_attributes
from tfrec.data.loaders.s3rec import load_s3rec_item_labels
from tfrec.data.loaders.s3rec import s3rec_item_categories
from tfrec.data.loaders.user_item_lines import load_item_tags
from tfrec.data.loaders.user_item_lines import load_user_item_lines
from tfrec.data.loaders.user_item_lines import load_user_item_lines_log

FORMATS: dict[str, LoaderInfo] = {
    info.format_name: info
    for info in (
        LoaderInfo(
            "maml-csv",
            load_maml_csv,
            required=("train_path", "test_path"),
            flags={"train": "train_path", "test": "test_path"},
            description="liufancs/MAML train.csv/test.csv (itemID,userID,reviewerID,asin)",
        ),
        LoaderInfo(
            "lrd",
            load_lrd,
            required=("directory",),
            flags={"directory": "directory", "train": "directory"},
            description="ysh-1998/LRD folder: train/dev/test.csv (+ neg_items), item text/meta",
        ),
        LoaderInfo(
            "ncf",
            load_ncf,
            required=("train_rating", "test_rating"),
            optional=("test_negative",),
            flags={"train": "train_rating", "test": "test_rating", "negatives": "test_negative"},
            description="NCF .train.rating/.test.rating (+ .test.negative)",
        ),
        LoaderInfo(
            "user-item-lines",
            load_user_item_lines,
            required=("train_path", "test_path"),
            optional=("tag_path",),
            flags={"train": "train_path", "test": "test_path", "tags": "tag_path"},
            description="one 'user item item ...' line per user (a2_gcn train.txt/test.txt)",
        ),
        LoaderInfo(
            "s3rec",
            load_s3rec,
            required=("sequence_path",),
            optional=("attributes_path",),
            flags={
                "train": "sequence_path",
                "sequences": "sequence_path",
                "attributes": "attributes_path",
            },
            returns=InteractionLog,
            description="S3-Rec time-ordered 'user item item ...' (+ item2attributes.json)",
        ),
        LoaderInfo(
            "hin",
            load_hin,
            required=("user_item_path",),
            optional=("item_category_path",),
            flags={
                "train": "user_item_path",
                "ratings": "user_item_path",
                "categories": "item_category_path",
            },
            returns=InteractionLog,
            description="librahu HIN 'user item rating' .dat (+ item category file)",
        ),
        LoaderInfo(
            "movielens",
            load_movielens,
            required=("ratings_path",),
            optional=("movies_path", "extras_path"),
            flags={
                "train": "ratings_path",
                "ratings": "ratings_path",
                "movies": "movies_path",
                "extras": "extras_path",
            },
            returns=InteractionLog,
            description="MovieLens 'user::item::rating::timestamp' (+ movies.dat, MeLU extras)",
        ),
    )
}


def load_files(format_name: str, **paths) -> Interactions | InteractionLog:
    """Loads files of a registered format.

    Args:
        format_name: a key of `FORMATS`.
        **paths: the format's path arguments, by name (`train_path=...`) or CLI flag
            (`train=...`), plus loader options such as `name=` or `min_rating=`.

    Raises:
        ValueError: an unknown format (the message lists the valid names), an unknown
            argument, or a missing required path.
    """
    if format_name not in FORMATS:
        raise ValueError(
            f"Received: `format_name={format_name!r}`. Expected one of: "
            f"{', '.join(sorted(FORMATS))}."
        )
    return FORMATS[format_name].load(**paths)


__all__ = [
    "FORMATS",
    "LoaderInfo",
    "load_files",
    "load_hin",
    "load_hin_item_categories",
    "load_item_tags",
    "load_lrd",
    "load_lrd_item_side",
    "load_lrd_log",
    "load_lrd_split",
    "load_maml_csv",
    "load_movielens",
    "load_movielens_items",
    "load_movielens_ratings",
    "load_ncf",
    "load_s3rec",
    "load_s3rec_attributes",
    "load_s3rec_item_labels",
    "load_user_item_lines",
    "load_user_item_lines_log",
    "s3rec_item_categories",
]
