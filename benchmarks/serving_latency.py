"""Latency of an exported recommender through the TensorFlow SavedModel loader.

    python benchmarks/serving_latency.py [--export-dir saved_models/NAME/VERSION]
        [--model cml|maml|nais|iris] [--train Office/train.csv --test Office/test.csv]
        [--repeats 1000] [--json PATH]

Without --export-dir it trains --model briefly on MAML Office (the registry dataset, or the
MAML-format files --train/--test; default preset, --train-steps steps: latency does not
depend on the weights' quality) and exports it to a temporary folder. MAML's item features
are Doc2Vec vectors of the items' text (2 epochs: any features give the same latency).
`--model nais` trains NAIS (default preset, prod attention) on ml-1m-sample instead (the
registry dataset, cached in $TFREC_DATA_DIR): a history model, scored from each user's
training items with the attention of every (history item, candidate) pair. `--model iris`
does the same with Multimodal IRIS, whose two towers read the ml-1m-sample metadata and
plot features (built once into the temporary folder).
Then, on the `serving_default` signature as TF Serving calls it (`loaded.signatures[...]`,
outputs copied to numpy):

- one user, k = 10: p50 and p99 over --repeats calls, each a different known user
  (the TF Serving issue's target: p50 < 5 ms for CML on Office, < 50 ms for MAML, whose
  score needs the attention of every (user, item) pair);
- one unknown user (popularity branch), same statistics;
- batches of 256 known users, k = 10: users/s over --batches batches.

Each measurement is preceded by warm-up calls. TensorFlow uses its default thread pools.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _office import add_office_arguments  # noqa: E402
from _office import load_office  # noqa: E402


def export_history_model(directory: Path, model_name: str, steps: int) -> Path:
    """A history model (NAIS, IRIS) on ml-1m-sample, `steps` training steps, exported."""
    from tfrec.data import load_dataset
    from tfrec.sampling.history_batches import HistorySampler
    from tfrec.sampling.history_tf_dataset import make_history_tf_dataset
    from tfrec.serving import export_model
    from tfrec.training import get_preset
    from tfrec.training.history_experiment import build_history_model

    data = load_dataset("ml-1m-sample")
    preset = get_preset(model_name)
    features = None
    if model_name == "iris":
        from tfrec.features.movie_features import iris_item_features

        features, _ = iris_item_features(data, directory / "features.h5", verbose=False)
    model = build_history_model(preset, data.num_items, seed=0, item_features=features)
    if steps:
        sampler = HistorySampler(
            data.train, num_negatives=preset.num_negatives, batch_size=preset.batch_size
        )
        started = time.perf_counter()
        model.fit(make_history_tf_dataset(sampler), epochs=1, steps_per_epoch=steps, verbose=0)
        seconds = time.perf_counter() - started
        print(f"trained {model_name} on {data.name} for {steps} steps ({seconds:.1f} s)")
    return export_model(model, data, directory, name=f"ml1m-{model_name}", warmup=True)


def export_office_model(directory: Path, model_name: str, steps: int) -> Path:
    from tfrec.serving import export_model
    from tfrec.training import build_model
    from tfrec.training import fit
    from tfrec.training import get_preset

    data = load_office(args)
    item_features = None
    if model_name == "maml":
        from tfrec.features.item_features import text_features_from_side_info

        table, _ = text_features_from_side_info(data.item_side.text, data.item_keys, epochs=2)
        item_features, _ = table.aligned(data.item_keys)
    preset = get_preset(model_name, dataset="maml-office")
    model = build_model(preset, data.num_users, data.num_items, seed=0, item_features=item_features)
    if steps:
        preset = preset.replace(steps_per_epoch=steps, epochs=1)
        started = time.perf_counter()
        fit(model, data, preset, verbose=0)
        seconds = time.perf_counter() - started
        print(f"trained {model_name} on {data.name} for {steps} steps ({seconds:.1f} s)")
    return export_model(model, data, directory, name=f"office-{model_name}", warmup=True)


def machine() -> dict:
    import tensorflow as tf

    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores_available": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "platform": platform.platform(),
    }


def percentiles(seconds: list[float]) -> dict:
    milliseconds = np.asarray(seconds) * 1e3
    return {
        "p50_ms": float(np.percentile(milliseconds, 50)),
        "p99_ms": float(np.percentile(milliseconds, 99)),
        "mean_ms": float(milliseconds.mean()),
    }


def measure(recommend, user_keys: np.ndarray, repeats: int, batch: int, k: int) -> dict:
    import tensorflow as tf

    k_tensor = tf.constant(k, tf.int32)

    def call(keys):
        outputs = recommend(user_keys=tf.constant(keys), k=k_tensor)
        return {name: value.numpy() for name, value in outputs.items()}

    rng = np.random.default_rng(0)
    for _ in range(20):  # Warm-up.
        call(user_keys[rng.integers(len(user_keys), size=1)])
        call(user_keys[rng.integers(len(user_keys), size=batch)])
    results = {}
    for label, keys in (("one_user", None), ("one_unknown_user", np.array(["<nobody>"]))):
        times = []
        for _ in range(repeats):
            request = keys if keys is not None else user_keys[rng.integers(len(user_keys), size=1)]
            started = time.perf_counter()
            call(request)
            times.append(time.perf_counter() - started)
        results[label] = percentiles(times)
    batches = [user_keys[rng.integers(len(user_keys), size=batch)] for _ in range(args.batches)]
    started = time.perf_counter()
    for keys in batches:
        call(keys)
    elapsed = time.perf_counter() - started
    results[f"batch_{batch}"] = {
        "users_per_s": batch * len(batches) / elapsed,
        "ms_per_batch": elapsed / len(batches) * 1e3,
    }
    return results


def main() -> None:
    import tensorflow as tf

    export_dir = Path(args.export_dir) if args.export_dir else None
    with tempfile.TemporaryDirectory() as scratch:
        if export_dir is None:
            export = export_history_model if args.model in ("nais", "iris") else export_office_model
            export_dir = export(Path(scratch), args.model, args.train_steps)
        info_path = export_dir / "assets.extra" / "tfrec_export.json"
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        started = time.perf_counter()
        loaded = tf.saved_model.load(str(export_dir))
        load_seconds = time.perf_counter() - started
        user_keys = loaded.user_keys.numpy()  # The known user keys, from the export itself.
        recommend = loaded.signatures["serving_default"]
        results = measure(recommend, user_keys, args.repeats, args.batch_size, args.k)
    report = {
        "export": {
            "model_class": info.get("model_class"),
            "dataset": info.get("dataset"),
            "num_users": info.get("num_users"),
            "num_items": info.get("num_items"),
            "load_seconds": load_seconds,
        },
        "k": args.k,
        "repeats": args.repeats,
        "machine": machine(),
        "results": results,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export-dir", help="a version folder saved_models/NAME/VERSION")
    add_office_arguments(parser)
    parser.add_argument(
        "--model", choices=("cml", "maml", "nais", "iris"), default="cml", help="when training"
    )
    parser.add_argument("--train-steps", type=int, default=20, help="steps when training (0: none)")
    parser.add_argument("--repeats", type=int, default=1000, help="one-user calls per statistic")
    parser.add_argument("--batches", type=int, default=20, help="batches for users/s")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args()
    main()
