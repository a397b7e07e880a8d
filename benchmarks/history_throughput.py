"""Training throughput and evaluation time of FISM, NAIS and Multimodal IRIS, both backends.

    python benchmarks/history_throughput.py --epochs 3 \
        --output benchmarks/results/history_throughput.json

Data: ml-1m-sample with the IRIS split (`split="leave-one-out-random"`: 88,950 training
pairs, so one epoch = 88,950 x (1 + 4) = 444,750 rows). Each backend runs in its own
process (the Keras backend is fixed at import), one after the other, never side by side.
Each model trains `--epochs` epochs of its preset at e = 16 (FISM `code`, NAIS
`iris-paper` from scratch, IRIS `multimodal` with the metadata + plot features) through
`run_history_experiment`, i.e. the input pipeline `tfrec train` uses: on TensorFlow a
tf.data pipeline with a declared signature (one trace for all history widths), on JAX
`HistoryDataset` batches (one XLA compilation per distinct padded shape, widths rounded up
to multiples of 8). Reported per model:

- `first_epoch_s`: the first epoch's wall time, including tracing/compilation;
- `samples_per_s`: rows / mean wall time of the later epochs (steady state);
- `evaluation_s`: the 1 + 99 evaluation of all 5,709 test users from their full training
  histories (`evaluate_history_model`), the second of two calls (the first traces).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

MODELS = (("fism", "code"), ("nais", "iris-paper"), ("iris", "multimodal"))


def child(args) -> dict:
    import keras

    from tfrec.data.registry import load_dataset
    from tfrec.features.movie_features import iris_item_features
    from tfrec.training import get_preset
    from tfrec.training.history_experiment import evaluate_history_model
    from tfrec.training.history_experiment import run_history_experiment

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)

    data = load_dataset("ml-1m-sample", split="leave-one-out-random", progress=False)
    os.makedirs(args.features_dir, exist_ok=True)
    store = os.path.join(args.features_dir, "ml-1m-sample_iris_features.h5")
    features, _ = iris_item_features(data, store)
    rows = data.train.nnz * 5
    results = {}
    for model_name, preset_name in MODELS:
        preset = get_preset(model_name, preset_name).replace(epochs=args.epochs)
        timer = EpochTimer()
        result = run_history_experiment(
            data,
            preset,
            seed=0,
            pretrain=None,
            patience=None,
            item_features=features if model_name == "iris" else None,
            callbacks=[timer],
            verbose=0,
        )
        evaluation = []
        for _ in range(2):
            started = time.perf_counter()
            evaluate_history_model(result.model, data, preset)
            evaluation.append(time.perf_counter() - started)
        steady = timer.seconds[1:] or timer.seconds
        results[model_name] = {
            "preset": preset_name,
            "rows_per_epoch": rows,
            "epoch_seconds": timer.seconds,
            "first_epoch_s": timer.seconds[0],
            "samples_per_s": rows / (sum(steady) / len(steady)),
            "evaluation_s": evaluation[1],
            "evaluation_first_call_s": evaluation[0],
        }
        print(model_name, json.dumps(results[model_name]), flush=True)
    return {"backend": keras.backend.backend(), "models": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--features-dir", default="runs/features")
    parser.add_argument("--output", help="JSON file for the results")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args)), flush=True)
        return
    runs = {}
    for backend in args.backends:
        command = [sys.executable, os.path.abspath(__file__), "--child"]
        command += ["--epochs", str(args.epochs), "--features-dir", args.features_dir]
        environment = {**os.environ, "KERAS_BACKEND": backend}
        output = subprocess.run(
            command, env=environment, capture_output=True, text=True, check=True
        ).stdout
        runs[backend] = json.loads(output.split("RESULT ", 1)[1])["models"]
    print(f"{'model':<8}{'backend':<12}{'first epoch s':>15}{'samples/s':>12}{'eval s':>9}")
    for backend, models in runs.items():
        for name, row in models.items():
            print(
                f"{name:<8}{backend:<12}{row['first_epoch_s']:>15.1f}"
                f"{row['samples_per_s']:>12,.0f}{row['evaluation_s']:>9.2f}"
            )
    if args.output:
        record = {
            "command": "python benchmarks/history_throughput.py " + " ".join(sys.argv[1:]),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
            "date": time.strftime("%Y-%m-%d"),
            "runs": runs,
        }
        with open(args.output, "w") as handle:
            json.dump(record, handle, indent=1)


if __name__ == "__main__":
    main()
