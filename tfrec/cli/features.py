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
