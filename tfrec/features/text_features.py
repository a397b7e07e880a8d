"""Text features with gensim Doc2Vec in PV-DM mode, the MAML paper's text extractor.

MAML (§3.2) represents each item's text with a paragraph vector trained by PV-DM; its
released `doc2vecFile` is a gensim model. The dimension and training settings are not
stated anywhere (spec maml.md §1: gensim's default 100 [INFER]; the MELON copy of the Men
Clothing features is 512-d), so they are arguments here.

Training is seeded and single-threaded by default: gensim's Doc2Vec is only reproducible
with one worker (and a fixed PYTHONHASHSEED for its vocabulary hashing).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from tfrec.data.errors import DataFormatError
from tfrec.data.interactions import FeatureTable


def doc2vec_features(
    texts: Mapping[str, str],
    *,
    dim: int = 100,
    epochs: int = 40,
    window: int = 5,
    min_count: int = 2,
    seed: int = 0,
    workers: int = 1,
):
    """Trains PV-DM paragraph vectors on `texts` (item key -> text).

    Returns:
        `(FeatureTable, model)`: the vector of every item, in the order of `texts`, and the
        trained `gensim.models.Doc2Vec` (save it beside the features with `model.save`).
    """
    from gensim.models.doc2vec import Doc2Vec
    from gensim.models.doc2vec import TaggedDocument
    from gensim.utils import simple_preprocess

    if dim < 1 or epochs < 1:
        raise ValueError(f"Received: `dim={dim}`, `epochs={epochs}`. Expected integers >= 1.")
    if not texts:
        raise ValueError("Received no texts to train Doc2Vec on.")
    keys = [str(key) for key in texts]
    documents = [
        TaggedDocument(simple_preprocess(texts[key], min_len=1), [index])
        for index, key in enumerate(keys)
    ]
    model = Doc2Vec(
        documents,
        dm=1,  # PV-DM, as the paper.
        vector_size=dim,
        window=window,
        min_count=min_count,
        epochs=epochs,
        seed=seed,
        workers=workers,
    )
    vectors = np.stack([model.dv[index] for index in range(len(keys))]).astype(np.float32)
    return FeatureTable(np.asarray(keys, dtype=object), vectors), model


def read_text_file(path: str | os.PathLike) -> dict[str, str]:
    """Reads `key<TAB>text` lines (a header line `id<TAB>text` is skipped, as in LRD's
    `Office.text`). Errors name the file and line."""
    source = Path(path)
    texts: dict[str, str] = {}
    with open(source, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            if "\t" not in line:
                raise DataFormatError(
                    source, "expected `key<TAB>text`, found no tab", line=number, content=line
                )
            key, text = line.split("\t", 1)
            if number == 1 and (key.lower(), text.lower()) in {("id", "text"), ("key", "text")}:
                continue
            if not key:
                raise DataFormatError(source, "empty item key", line=number, column=1, content=line)
            if key in texts:
                raise DataFormatError(
                    source, f"item {key!r} appears twice", line=number, column=1, content=line
                )
            texts[key] = text
    if not texts:
        raise DataFormatError(source, "no `key<TAB>text` lines")
    return texts
