"""ACF component features: image regions from a CNN's last convolutional map, or word
vectors of an item's tokens (text words, tags), written to a component store.

ACF (Chen et al., SIGIR 2017, §4.3) represents a Pinterest image by the 7 x 7 x 2,048
`res5c` map of ResNet-152: 49 region vectors of 2,048 dims (spec acf.md §1). Keras has
ResNet50/101/152 (`keras.applications`); `cnn_region_components` takes the last
convolutional block's output (`include_top=False`, no pooling), which is that map, and
streams it into a `ComponentStoreWriter` one batch of images at a time.

For text the components are the item's tokens: `token_components` trains gensim Word2Vec
(CBOW, seeded, one worker: gensim is reproducible only single-threaded) on every item's
token list and gives each item the vectors of its distinct known tokens, in first-seen
order, up to `max_components`. The same serves item tags (one tag = one token).
"""

from __future__ import annotations

import os
import random
import warnings
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tfrec.features.component_store import ComponentStoreWriter
from tfrec.features.image_features import _batches
from tfrec.features.image_features import _check_weights
from tfrec.features.image_features import _describe_weights
from tfrec.features.image_features import _image_files

REGION_BACKBONES = ("resnet50", "resnet101", "resnet152")


def build_region_backbone(backbone: str = "resnet152", weights="imagenet", *, seed: int = 0):
    """A ResNet without its top: `[b, 224, 224, 3]` -> the `[b, 7, 7, 2048]` last conv map."""
    import keras

    if backbone not in REGION_BACKBONES:
        raise ValueError(f"Received: `backbone={backbone!r}`. Expected one of {REGION_BACKBONES}.")
    weights = _check_weights(weights)
    constructor = {
        "resnet50": keras.applications.ResNet50,
        "resnet101": keras.applications.ResNet101,
        "resnet152": keras.applications.ResNet152,
    }[backbone]
    state = random.getstate()
    random.seed(seed)  # Keras seeds unseeded initializers from Python's `random`.
    try:
        return constructor(
            include_top=False, weights=weights, pooling=None, input_shape=(224, 224, 3)
        )
    finally:
        random.setstate(state)


def cnn_region_components(
    image_paths_or_dir,
    output: str | os.PathLike,
    *,
    backbone: str = "resnet152",
    weights: str | os.PathLike | None = "imagenet",
    batch_size: int = 16,
    dtype: str = "float16",
    progress: bool = True,
    skip_unreadable: bool = False,
) -> dict[str, Any]:
    """Writes each image's last-conv-map regions (49 x 2,048 for 224 x 224 inputs) to `output`.

    Images are read and preprocessed as `cnn_image_features` does (RGB, 224 x 224 bilinear,
    the ResNet's Caffe-mode `preprocess_input`); the item key is the file stem. Only one
    batch of images and regions is in memory at a time. Unreadable images (with
    `skip_unreadable`) get zero components and are listed in the provenance.

    Returns:
        The provenance record stored with the components.
    """
    import keras

    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Received: `batch_size={batch_size!r}`. Expected an integer >= 1.")
    files, source, ignored = _image_files(image_paths_or_dir)
    model = build_region_backbone(backbone, weights)
    height, width, channels = (int(n) for n in model.output.shape[1:])
    regions = height * width
    preprocess = keras.applications.resnet.preprocess_input
    provenance = {
        "extractor": f"keras.applications.{backbone}, include_top=False: the last "
        f"convolutional map ({height} x {width} x {channels}) as {regions} regions",
        "parameters": {
            "backbone": backbone,
            "weights": _describe_weights(weights),
            "image_size": [224, 224],
            "preprocess_input": "keras.applications.resnet.preprocess_input (caffe mode)",
            "region_order": "row-major over the map (region r = row r // width, column r % width)",
        },
        "keras_version": keras.__version__,
        "source": source,
        "num_ignored_files": ignored,
    }
    bar = keras.utils.Progbar(len(files), unit_name="image") if progress else None
    skipped: list[str] = []
    done = 0
    with ComponentStoreWriter(
        output, len(files), regions, channels, dtype=dtype, provenance=provenance
    ) as writer:
        for start in range(0, len(files), batch_size):
            chunk = files[start : start + batch_size]
            before = len(skipped)
            keys, images, attempted = next(_batches(chunk, batch_size, skip_unreadable, skipped))
            values = np.zeros((len(chunk), regions, channels), np.float32)
            counts = np.zeros(len(chunk), np.int64)
            if keys:
                maps = keras.ops.convert_to_numpy(model.predict_on_batch(preprocess(images)))
                rows = [k for k, path in enumerate(chunk) if str(path) not in skipped[before:]]
                values[rows] = maps.reshape(len(keys), regions, channels)
                counts[rows] = regions
            writer.write([path.stem for path in chunk], values, counts)
            done += attempted
            if bar is not None:
                bar.update(done)
        writer.provenance["num_skipped"] = len(skipped)
        writer.provenance["skipped"] = skipped[:100]
    if skipped:
        warnings.warn(f"Skipped {len(skipped)} unreadable images (no components).", stacklevel=2)
    return provenance


def token_components(
    tokens: Mapping[str, Sequence[str]],
    *,
    dim: int = 64,
    max_components: int = 64,
    min_count: int = 2,
    window: int = 5,
    epochs: int = 20,
    seed: int = 0,
    return_tokens: bool = False,
):
    """Word2Vec vectors of each item's tokens: `{item key: [c, dim]}` and a provenance record.

    With `return_tokens`, a third value `{item key: [token of each component]}` names the
    components (e.g. to label a component-attention heatmap).

    Args:
        tokens: item key -> its tokens in order (words of its text, or its tags).
        dim: word vector size.
        max_components: keep the first this many distinct known tokens of an item.
        min_count: tokens seen fewer times over all items are dropped (no vector).
        window, epochs, seed: Word2Vec (CBOW) settings; one worker for reproducibility.
        return_tokens: also return the token of every component.
    """
    from gensim.models import Word2Vec

    if not tokens:
        raise ValueError("Received no items to build token components for.")
    keys = [str(key) for key in tokens]
    sentences = [list(tokens[key]) for key in tokens]
    if not any(sentences):
        raise ValueError("Received items without any token.")
    model = Word2Vec(
        sentences,
        vector_size=dim,
        window=window,
        min_count=min_count,
        epochs=epochs,
        seed=seed,
        workers=1,
        sg=0,
    )
    vocabulary = model.wv.key_to_index
    components, kept = {}, {}
    lengths = []
    for key, sentence in zip(keys, sentences, strict=True):
        known = list(dict.fromkeys(token for token in sentence if token in vocabulary))
        lengths.append(len(known))
        known = known[:max_components]
        kept[key] = known
        components[key] = (
            np.stack([model.wv[token] for token in known]).astype(np.float32)
            if known
            else np.zeros((0, dim), np.float32)
        )
    lengths = np.array(lengths)
    provenance = {
        "extractor": "gensim Word2Vec (CBOW) over the items' token lists; components = the "
        "vectors of an item's distinct known tokens, first-seen order",
        "parameters": {
            "dim": dim,
            "max_components": max_components,
            "min_count": min_count,
            "window": window,
            "epochs": epochs,
            "seed": seed,
        },
        "vocabulary_size": len(vocabulary),
        "items_without_tokens": int((lengths == 0).sum()),
        "items_cut_to_max_components": int((lengths > max_components).sum()),
        "mean_components": float(np.minimum(lengths, max_components).mean()),
    }
    if return_tokens:
        return components, provenance, kept
    return components, provenance


def item_tokens(interactions, source: str = "auto") -> tuple[dict[str, list[str]], str]:
    """Each item's token list from the dataset's side information.

    Args:
        interactions: the dataset.
        source: `"text"` (words of the item text, gensim `simple_preprocess`), `"tags"`, or
            `"auto"` (text when the items have text, else tags).

    Returns:
        `({item key: tokens}, the source used)` for the dataset's items that have any.
    """
    side = interactions.item_side
    if source == "auto":
        source = "text" if side.text else "tags"
    if source == "text":
        from gensim.utils import simple_preprocess

        if not side.text:
            raise ValueError(f"{interactions.name} has no item text for text components.")
        # The tokenizer of the Doc2Vec text features (`doc2vec_features`).
        return {k: simple_preprocess(v, min_len=1) for k, v in side.text.items()}, source
    if source == "tags":
        if not side.tags:
            raise ValueError(f"{interactions.name} has no item tags for tag components.")
        return {k: list(v) for k, v in side.tags.items()}, source
    raise ValueError(f"Received: `source={source!r}`. Expected 'auto', 'text' or 'tags'.")


def write_token_components(
    interactions, path: str | os.PathLike, *, source: str = "auto", **options
) -> dict[str, Any]:
    """`token_components` of the dataset's text or tags, written to the store `path`."""
    from tfrec.features.component_store import write_components

    tokens, used = item_tokens(interactions, source)
    components, provenance = token_components(tokens, **options)
    provenance["source"] = f"{interactions.name}: item_side.{used}"
    write_components(Path(path), components, dtype="float32", provenance=provenance)
    return provenance
