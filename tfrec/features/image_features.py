"""Image features from an ImageNet CNN: VGG16 fc2 (4096-d) or ResNet50 pooled (2048-d).

MAML (§3.2, spec maml.md §1) represents each item image by the 4096-d fc7 activation of the
Caffe reference model. Keras has no Caffe reference network; the closest analogue is VGG16's
second fully connected layer `fc2` (4096-d, after ReLU, as Caffe's fc7 blob is used after
its in-place ReLU). ResNet50's global-average-pooled 2048-d output is offered as the modern
alternative.

Images are read with `keras.utils.load_img` (RGB, resized to 224x224 with bilinear
interpolation, aspect ratio not kept), run through the backbone's own `preprocess_input`
(Caffe mode for both: RGB -> BGR, ImageNet mean subtracted) and fed in batches, so only one
batch of images is in memory at a time.

Weights:
    `"imagenet"` downloads Keras' ImageNet weights on first use into `~/.keras/models`
    (VGG16 with its top: `vgg16_weights_tf_dim_ordering_tf_kernels.h5`, about 528 MiB;
    ResNet50 without top: `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`, about
    90 MiB). On a machine without network access, copy that file there first, or pass its
    path. `None` builds the network with random weights (seeded, for tests); a path to a
    `.h5` / `.weights.h5` file loads those weights (it must match the architecture: VGG16
    with its top, ResNet50 without).

Example:

    table, provenance = cnn_image_features("images/", backbone="vgg16")
    write_features("features.h5", {"image": table}, provenance={"image": provenance})
"""

from __future__ import annotations

import os
import random
import warnings
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tfrec.data.interactions import FeatureTable

BACKBONES = ("vgg16", "resnet50")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
IMAGE_SIZE = 224
INTERPOLATION = "bilinear"
RANDOM_WEIGHTS_SEED = 0
_DIMS = {"vgg16": 4096, "resnet50": 2048}
_DESCRIPTIONS = {
    "vgg16": "keras.applications.VGG16, layer fc2 (4096-d, after ReLU; the analogue of Caffe fc7)",
    "resnet50": "keras.applications.ResNet50, include_top=False, pooling='avg' (2048-d)",
}
# Provenance is an HDF5 attribute (64 KiB at most): list at most this many skipped files.
_MAX_LISTED = 100


def build_image_backbone(
    backbone: str = "vgg16",
    weights: str | os.PathLike | None = "imagenet",
    *,
    seed: int = RANDOM_WEIGHTS_SEED,
):
    """The feature extractor of `backbone`: a `keras.Model` from images to feature vectors.

    Args:
        backbone: `"vgg16"` (outputs layer `fc2`, `[batch, 4096]`) or `"resnet50"`
            (global average pooling, `[batch, 2048]`).
        weights: `"imagenet"` (Keras downloads them on first use), `None` (random), or the
            path of a `.h5` / `.weights.h5` weights file.
        seed: seeds the random initialisation when `weights=None`, so two builds are equal.
            The caller's Python random state is restored afterwards.

    Returns:
        A `keras.Model` taking `[batch, 224, 224, 3]` preprocessed images.
    """
    import keras

    _check_backbone(backbone)
    weights = _check_weights(weights)
    # Keras draws the seeds of unseeded initializers from Python's `random` module.
    state = random.getstate()
    random.seed(seed)
    try:
        if backbone == "vgg16":
            network = keras.applications.VGG16(include_top=True, weights=weights)
            return keras.Model(network.input, network.get_layer("fc2").output, name="vgg16_fc2")
        return keras.applications.ResNet50(include_top=False, weights=weights, pooling="avg")
    finally:
        random.setstate(state)


def cnn_image_features(
    image_paths_or_dir: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    backbone: str = "vgg16",
    weights: str | os.PathLike | None = "imagenet",
    batch_size: int = 32,
    progress: bool = True,
    skip_unreadable: bool = False,
) -> tuple[FeatureTable, dict]:
    """Extracts one CNN feature vector per image; the item key is the file stem.

    Args:
        image_paths_or_dir: a directory (its files with an image extension, not recursive,
            sorted by stem; other files are ignored and counted in the provenance) or a list
            of image files (kept in the given order). `B00001.jpg` gives item `"B00001"`.
        backbone: `"vgg16"` (fc2, 4096-d, MAML's fc7 analogue) or `"resnet50"` (2048-d).
        weights: `"imagenet"` (downloaded by Keras on first use, see the module docstring),
            `None` (random weights seeded with `RANDOM_WEIGHTS_SEED`, for tests) or the path
            of a weights file.
        batch_size: images per forward pass (and in memory at once).
        progress: show a `keras.utils.Progbar`.
        skip_unreadable: skip images that cannot be decoded instead of raising; they are
            reported with a warning and listed in the provenance under `"skipped"`.

    Returns:
        `(FeatureTable, provenance)`: `[n_images, 4096 or 2048]` float32 features keyed by
        file stem, and a JSON-able record (backbone, weights, preprocessing, source, counts)
        for `write_features(..., provenance={"image": provenance})`.

    Raises:
        ValueError: an image cannot be read (naming the file), two files share a stem
            (naming both), no images were found, or an argument is invalid.
    """
    import keras

    _check_backbone(backbone)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Received: `batch_size={batch_size!r}`. Expected an integer >= 1.")
    files, source, ignored = _image_files(image_paths_or_dir)
    model = build_image_backbone(backbone, weights)
    preprocess = _preprocess_function(backbone)
    bar = keras.utils.Progbar(len(files), unit_name="image") if progress else None
    keys: list[str] = []
    chunks: list[np.ndarray] = []
    skipped: list[str] = []
    done = 0
    for batch_keys, images, attempted in _batches(files, batch_size, skip_unreadable, skipped):
        if batch_keys:
            output = model.predict_on_batch(preprocess(images))
            chunks.append(keras.ops.convert_to_numpy(output).astype(np.float32))
            keys.extend(batch_keys)
        done += attempted
        if bar is not None:
            bar.update(done)
    if skipped:
        shown = ", ".join(skipped[:10]) + (" ..." if len(skipped) > 10 else "")
        warnings.warn(f"Skipped {len(skipped)} unreadable images: {shown}", stacklevel=2)
    if not keys:
        raise ValueError(f"No readable image among the {len(files)} files of {source}.")
    table = FeatureTable(np.asarray(keys, dtype=object), np.concatenate(chunks))
    provenance = {
        "extractor": _DESCRIPTIONS[backbone],
        "parameters": {
            "backbone": backbone,
            "weights": _describe_weights(weights),
            "image_size": [IMAGE_SIZE, IMAGE_SIZE],
            "interpolation": INTERPOLATION,
            "color_mode": "rgb",
            "preprocess_input": f"keras.applications.{backbone}.preprocess_input (caffe mode)",
            "batch_size": batch_size,
        },
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "source": source,
        "num_images": len(keys),
        "num_ignored_files": ignored,
        "num_skipped": len(skipped),
        "skipped": skipped[:_MAX_LISTED],
    }
    return table, provenance


def load_image(path: str | os.PathLike) -> np.ndarray:
    """One image as `[224, 224, 3]` float32 RGB in [0, 255], as `cnn_image_features` reads it.

    Raises:
        ValueError: the file cannot be decoded (the message names it).
    """
    import keras

    try:
        image = keras.utils.load_img(
            path,
            color_mode="rgb",
            target_size=(IMAGE_SIZE, IMAGE_SIZE),
            interpolation=INTERPOLATION,
        )
        return keras.utils.img_to_array(image, dtype="float32")
    except Exception as error:  # PIL raises OSError, SyntaxError, ValueError... per format.
        raise ValueError(
            f"{path}: cannot read the image ({type(error).__name__}: {error}). Fix or remove "
            "the file, or pass `skip_unreadable=True` (CLI: --skip-unreadable) to skip it."
        ) from None


def _check_backbone(backbone: str) -> None:
    if backbone not in BACKBONES:
        raise ValueError(f"Received: `backbone={backbone!r}`. Expected one of {BACKBONES}.")


def _check_weights(weights):
    if weights is None or weights == "imagenet":
        return weights
    if not isinstance(weights, str | os.PathLike):
        raise ValueError(
            f"Received: `weights={weights!r}`. Expected 'imagenet', None or a weights file path."
        )
    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such weights file. Expected 'imagenet', None or the path of a "
            "`.h5` / `.weights.h5` file."
        )
    if path.suffix not in {".h5", ".hdf5"}:
        raise ValueError(f"{path}: expected a Keras `.h5` or `.weights.h5` weights file.")
    return str(path)


def _describe_weights(weights) -> str:
    if weights is None:
        return f"random (seed {RANDOM_WEIGHTS_SEED})"
    if weights == "imagenet":
        return "imagenet (Keras download)"
    return str(Path(weights).resolve())


def _preprocess_function(backbone: str):
    import keras

    if backbone == "vgg16":
        return keras.applications.vgg16.preprocess_input
    return keras.applications.resnet50.preprocess_input


def _image_files(image_paths_or_dir) -> tuple[list[Path], str, int]:
    """(image files, a description of the source, number of non-image files ignored)."""
    ignored = 0
    if isinstance(image_paths_or_dir, str | os.PathLike):
        folder = Path(image_paths_or_dir)
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{folder}: no such directory. Expected a folder of images or a list of files."
            )
        files = []
        for path in folder.iterdir():
            if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
                files.append(path)
            else:
                ignored += 1
        files.sort(key=lambda path: (path.stem, path.name))
        source = str(folder.resolve())
    else:
        files = [Path(path) for path in image_paths_or_dir]
        for path in files:
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                raise ValueError(
                    f"{path}: unsupported image extension {path.suffix!r}. "
                    f"Expected one of {IMAGE_EXTENSIONS}."
                )
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such image file.")
        parents = sorted({str(path.resolve().parent) for path in files})
        source = parents[0] if len(parents) == 1 else f"{len(files)} files in {len(parents)} dirs"
    if not files:
        raise ValueError(f"{image_paths_or_dir}: no images (extensions {IMAGE_EXTENSIONS}).")
    seen: dict[str, Path] = {}
    for path in files:
        if path.stem in seen:
            raise ValueError(
                f"Two images have the item key {path.stem!r}: {seen[path.stem]} and {path}. "
                "Keep one file per item."
            )
        seen[path.stem] = path
    return files, source, ignored


def _batches(
    files: list[Path], batch_size: int, skip_unreadable: bool, skipped: list[str]
) -> Iterator[tuple[list[str], np.ndarray, int]]:
    """Yields (keys, `[b, 224, 224, 3]` float32 RGB images, files attempted) per batch."""
    for start in range(0, len(files), batch_size):
        keys, images = [], []
        for path in files[start : start + batch_size]:
            try:
                images.append(load_image(path))
            except ValueError:
                if not skip_unreadable:
                    raise
                skipped.append(str(path))
                continue
            keys.append(path.stem)
        array = np.stack(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3))
        yield keys, array, len(files[start : start + batch_size])
