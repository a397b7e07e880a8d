"""Item category labels from a file: `item<TAB>label` lines (for NMI, `--item-labels`)."""

from __future__ import annotations

import os

from tfrec.data.interactions import ItemSideInfo
from tfrec.data.loaders import _common
from tfrec.data.loaders import _parsing

LABEL_COLUMNS = (("item", _parsing.STR), ("label", _parsing.STR))


def load_item_labels(path: str | os.PathLike) -> ItemSideInfo:
    """Reads `item<TAB>label` lines into `ItemSideInfo.categories` (first label = primary).

    An item may have several lines (several labels, in file order); the first is the label
    `Interactions.item_labels()` (and NMI) uses. A line without exactly two tab-separated
    fields is a `DataFormatError` naming the file and line.
    """
    frame = _parsing.read_table(path, LABEL_COLUMNS, sep="\t").frame
    items = [str(item) for item in frame["item"].tolist()]
    labels = [str(label) for label in frame["label"].tolist()]
    return ItemSideInfo(categories=_common.group_lists(items, labels))
