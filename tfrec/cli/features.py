"""`tfrec features`: extract item features into an HDF5 feature store."""

from __future__ import annotations

import argparse
from pathlib import Path

from tfrec.cli import common


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "features",
        help="extract item features into a feature store",
        description="Extracts item features into an HDF5 feature store (one dataset per modality).",
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    text = kinds.add_parser(
        "text",
        help="Doc2Vec (PV-DM) paragraph vectors of item text",
        description=(
            "Trains Doc2Vec in PV-DM mode (the MAML paper's text extractor) on key<TAB>text "
            "lines, writes the vectors as modality 'text' and saves the gensim model beside "
            "the store as FEATURES.doc2vec."
        ),
    )
    text.add_argument("--input", required=True, help="key<TAB>text lines (LRD's Office.text works)")
    text.add_argument("--output", required=True, help="feature store to write (.h5)")
    text.add_argument(
        "--dim", type=common.positive_int, default=100, help="vector size (default 100)"
    )
    text.add_argument("--epochs", type=common.positive_int, default=40, help="training epochs")
    text.add_argument("--min-count", type=common.positive_int, default=2, help="min word count")
    text.add_argument("--seed", type=common.non_negative_int, default=0, help="random seed")
    text.add_argument("--float16", action="store_true", help="store values as float16")
    text.set_defaults(func=run_text)
    _register_images(kinds)
    _register_import(kinds)
    _register_components(kinds)


def _register_components(kinds) -> None:
    tokens = kinds.add_parser(
        "components",
        help="ACF components: word vectors of each item's text tokens or tags",
        description=(
            "Trains gensim Word2Vec (CBOW) on every item's tokens (the words of its text, or "
            "its tags) and writes a component store: per item the vectors of its distinct "
            "known tokens (ACF's component-level attention attends over them)."
        ),
    )
    common.add_data_arguments(tokens)
    tokens.add_argument("--output", required=True, metavar="COMPONENTS.h5", help="store to write")
    tokens.add_argument(
        "--source",
        choices=("auto", "text", "tags"),
        default="auto",
        help="default: text, else tags",
    )
    tokens.add_argument("--dim", type=common.positive_int, default=64, help="vector size (64)")
    tokens.add_argument(
        "--max-components", type=common.positive_int, default=64, help="tokens kept per item"
    )
    tokens.add_argument("--min-count", type=common.positive_int, default=2, help="min count")
    tokens.add_argument("--seed", type=common.non_negative_int, default=0, help="random seed")
    tokens.set_defaults(func=run_components)
    regions = kinds.add_parser(
        "regions",
        help="ACF components: a ResNet's last convolutional map (7 x 7 regions) per image",
        description=(
            "Runs a Keras ResNet without its top on every image of a folder (the file stem is "
            "the item key) and writes the 7 x 7 x 2048 last convolutional map as 49 region "
            "components per item (the ACF paper uses ResNet-152 res5c), streamed to a "
            "float16 component store. --weights imagenet downloads Keras' weights first."
        ),
    )
    regions.add_argument("--input", required=True, metavar="DIR", help="folder of item images")
    regions.add_argument("--output", required=True, metavar="COMPONENTS.h5", help="store to write")
    regions.add_argument(
        "--backbone",
        choices=("resnet50", "resnet101", "resnet152"),
        default="resnet152",
        help="default resnet152 (the paper's)",
    )
    regions.add_argument("--weights", default="imagenet", help="imagenet, none or a .h5 file")
    regions.add_argument("--batch-size", type=common.positive_int, default=16)
    regions.add_argument("--float32", action="store_true", help="store float32 (default float16)")
    regions.add_argument("--skip-unreadable", action="store_true")
    regions.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    regions.set_defaults(func=run_regions)


def run_components(args: argparse.Namespace) -> int:
    from tfrec.features.component_features import write_token_components

    interactions = common.load_interactions(args)
    record = write_token_components(
        interactions,
        args.output,
        source=args.source,
        dim=args.dim,
        max_components=args.max_components,
        min_count=args.min_count,
        seed=args.seed,
    )
    print(
        f"wrote {args.output}: {record['source']}, vocabulary {record['vocabulary_size']:,}, "
        f"{record['mean_components']:.1f} components per item on average, "
        f"{record['items_without_tokens']} items without any"
    )
    return 0


def run_regions(args: argparse.Namespace) -> int:
    from tfrec.features.component_features import cnn_region_components

    weights = None if args.weights.lower() == "none" else args.weights
    record = cnn_region_components(
        args.input,
        args.output,
        backbone=args.backbone,
        weights=weights,
        batch_size=args.batch_size,
        dtype="float32" if args.float32 else "float16",
        progress=not args.no_progress,
        skip_unreadable=args.skip_unreadable,
    )
    print(f"wrote {args.output}: {record['extractor']}")
    return 0


def _register_images(kinds) -> None:
    images = kinds.add_parser(
        "images",
        help="CNN features of item images (VGG16 fc2 or ResNet50)",
        description=(
            "Runs an ImageNet CNN on every image of a folder (jpg, jpeg, png, bmp, gif, webp; "
            "the file stem is the item key) and writes the vectors as modality 'image': "
            "VGG16 fc2 (4096-d, the Keras analogue of the Caffe fc7 features MAML uses) or "
            "ResNet50 average pooling (2048-d). --weights imagenet downloads Keras' ImageNet "
            "weights into ~/.keras/models on first use (VGG16 about 528 MiB)."
        ),
    )
    images.add_argument("--input", required=True, metavar="DIR", help="folder of item images")
    images.add_argument(
        "--output", required=True, metavar="FEATURES.h5", help="feature store to write (.h5)"
    )
    images.add_argument(
        "--backbone", choices=("vgg16", "resnet50"), default="vgg16", help="default vgg16"
    )
    images.add_argument(
        "--weights",
        default="imagenet",
        help="imagenet (default, downloaded by Keras), none (random, for tests) or a .h5 file",
    )
    images.add_argument(
        "--batch-size", type=common.positive_int, default=32, help="images per batch"
    )
    images.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="skip (and list) images that cannot be decoded instead of failing",
    )
    images.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_store_arguments(images)
    images.set_defaults(func=run_images)


def _register_import(kinds) -> None:
    imports = kinds.add_parser(
        "import",
        help="import the MAML authors' doc2vecFile / image_feature.npy",
        description=(
            "Converts the feature files released with MAML into the store: a gensim Doc2Vec "
            "model (doc2vecFile; its document tags are the item keys) as modality 'text' and "
            "a pickled dict ASIN -> vector (image_feature.npy) as modality 'image'. Both files "
            "are pickles, which can execute code when loaded: import only trusted files."
        ),
    )
    imports.add_argument(
        "--doc2vec", metavar="FILE", help="gensim Doc2Vec model file (modality 'text')"
    )
    imports.add_argument(
        "--image-npy", metavar="FILE", help="np.save'd dict key -> vector (modality 'image')"
    )
    imports.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow unpickling --image-npy (required for the authors' file; trusted files only)",
    )
    imports.add_argument(
        "--asin-sample",
        metavar="FILE",
        help="asin_sample.json: keep only these items, in this order (missing ones fail)",
    )
    imports.add_argument(
        "--output", required=True, metavar="FEATURES.h5", help="feature store to write (.h5)"
    )
    _add_store_arguments(imports)
    imports.set_defaults(func=run_import)


def _add_store_arguments(parser) -> None:
    parser.add_argument("--float16", action="store_true", help="store values as float16")
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the other modalities of an existing --output (same-named ones are replaced)",
    )


def run_text(args: argparse.Namespace) -> int:
    from tfrec.features import doc2vec_features
    from tfrec.features import read_text_file
    from tfrec.features import write_features
    from tfrec.utils.atomic import atomic_path

    texts = read_text_file(args.input)
    print(
        f"training Doc2Vec (PV-DM, {args.dim} dims, {args.epochs} epochs) on {len(texts):,} items"
    )
    table, model = doc2vec_features(
        texts, dim=args.dim, epochs=args.epochs, min_count=args.min_count, seed=args.seed
    )
    output = Path(args.output)
    model_path = output.with_suffix(".doc2vec")
    with atomic_path(model_path) as temporary:
        model.save(str(temporary))
    provenance = {
        "extractor": "gensim Doc2Vec, PV-DM (dm=1)",
        "parameters": {
            "dim": args.dim,
            "epochs": args.epochs,
            "min_count": args.min_count,
            "window": 5,
            "seed": args.seed,
            "tokenizer": "gensim.utils.simple_preprocess(min_len=1)",
        },
        "source_files": [str(Path(args.input).resolve())],
        "model_file": model_path.name,
    }
    write_features(
        output,
        {"text": table},
        provenance={"text": provenance},
        dtype="float16" if args.float16 else "float32",
    )
    print(f"wrote {output} (modality 'text': {len(table.keys):,} x {args.dim}) and {model_path}")
    return 0


def run_images(args: argparse.Namespace) -> int:
    from tfrec.features import cnn_image_features

    weights = None if args.weights.lower() == "none" else args.weights
    print(f"extracting {args.backbone} features (weights: {args.weights}) from {args.input}")
    table, provenance = cnn_image_features(
        args.input,
        backbone=args.backbone,
        weights=weights,
        batch_size=args.batch_size,
        progress=not args.no_progress,
        skip_unreadable=args.skip_unreadable,
    )
    for path in provenance["skipped"]:
        print(f"skipped unreadable image: {path}")
    _write_store(args, {"image": table}, {"image": provenance})
    return 0


def run_import(args: argparse.Namespace) -> int:
    from tfrec.features import load_asin_sample
    from tfrec.features import load_doc2vec_model_features
    from tfrec.features import load_image_feature_npy

    if not args.doc2vec and not args.image_npy:
        raise ValueError("nothing to import: pass --doc2vec FILE and/or --image-npy FILE.")
    keys = load_asin_sample(args.asin_sample) if args.asin_sample else None
    tables, provenance = {}, {}
    if args.doc2vec:
        tables["text"] = load_doc2vec_model_features(args.doc2vec, keys=keys)
        provenance["text"] = _import_record("gensim Doc2Vec model (MAML doc2vecFile)", args.doc2vec)
    if args.image_npy:
        tables["image"] = load_image_feature_npy(
            args.image_npy, allow_pickle=args.allow_pickle, keys=keys
        )
        provenance["image"] = _import_record(
            "np.save'd dict key -> vector (MAML image_feature.npy)", args.image_npy
        )
    for record in provenance.values():
        if args.asin_sample:
            record["asin_sample"] = _file_record(args.asin_sample)
    _write_store(args, tables, provenance)
    return 0


def _import_record(extractor: str, path: str) -> dict:
    return {"extractor": f"imported: {extractor}", "source_files": [_file_record(path)]}


def _file_record(path: str) -> dict:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(Path(path).resolve()), "sha256": digest.hexdigest()}


def _write_store(args: argparse.Namespace, tables: dict, provenance: dict) -> None:
    """Writes `tables`; with --append, keeps the other modalities of an existing store."""
    from tfrec.features import read_features
    from tfrec.features import read_provenance
    from tfrec.features import write_features

    output = Path(args.output)
    if args.append and output.exists():
        kept = {name: t for name, t in read_features(output).items() if name not in tables}
        old_records = read_provenance(output)
        for name in kept:
            provenance[name] = old_records.get(name, {})
        replaced = sorted(set(old_records) & set(tables))
        if replaced:
            print(f"replacing modality {replaced} of {output}")
        tables = {**kept, **tables}
    write_features(
        output, tables, provenance=provenance, dtype="float16" if args.float16 else "float32"
    )
    shapes = ", ".join(
        f"{name!r}: {len(t.keys):,} x {t.values.shape[1]}" for name, t in tables.items()
    )
    print(f"wrote {output} ({shapes})")
