"""The loss curve and final HR@100 / NDCG@100 of short seeded ACF runs, as one JSON line.

Compares two implementations of the same model: run it on each checkout and diff the lines.
The packed item attention (commit after d8ade9a) was checked against the padded grid so:

    git worktree add /tmp/grid d8ade9a
    (cd /tmp/grid && PYTHONPATH=/tmp/grid python /path/to/benchmarks/acf_training_trace.py \
        --features-dir /path/to/runs/features)
    python benchmarks/acf_training_trace.py

Data: lrd-office, leave-one-out, its text components (built by `reproduce_acf_table.py` or
`tfrec features components`); presets `acf/item-only` and `acf/paper`, seed 0, `--epochs`
epochs (default 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import tfrec
from tfrec.data.registry import load_dataset
from tfrec.features.component_store import ComponentStore
from tfrec.training import get_preset
from tfrec.training.acf_experiment import run_acf_experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--features-dir", default="runs/features")
    args = parser.parse_args()
    data = load_dataset("lrd-office", split="leave-one-out", progress=False)
    store = Path(args.features_dir) / "lrd-office_text_components.h5"
    components = ComponentStore(store, data.item_keys).load()
    trace = {"tfrec": str(Path(tfrec.__file__).parent)}
    for preset_name in ("item-only", "paper"):
        preset = get_preset("acf", preset_name).replace(epochs=args.epochs)
        result = run_acf_experiment(data, preset, components=components, seed=args.seed, verbose=0)
        trace[preset_name] = {
            "loss": result.history["loss"],
            **{m: result.metrics[m] for m in ("hr@100", "ndcg@100")},
        }
    print(json.dumps(trace))


if __name__ == "__main__":
    main()
