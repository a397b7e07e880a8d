"""Why MML (the paper's loss read literally) learns almost nothing: hinge activity per epoch.

    python benchmarks/mml_hinge_activity.py --dataset hin-yelp --epochs 3 \
        --initial-margins 0.02 1.0 --output benchmarks/results/mml_hinge_activity.json

Trains `mml/paper` (and the same with other starting margins) epoch by epoch and reports,
after each epoch, on the first training batch: the share of the dual triplets whose hinges
l1 (Eq. 7) and l2 (Eq. 8) are active (positive: the only ones with a gradient), the mean
user margin, the mean item-vector norm and how far the item vectors moved from their
start, plus HR@10 of the full ranking on the test split. Each hinge has one pull term and
two push terms (F^UI(a, c) against F^U(a, b) + F^UI(b, c)): once users lie apart from
users and items from items, every hinge is inactive whatever the user-item geometry.
"""

from __future__ import annotations

import argparse
import os
import platform

import keras
import numpy as np

from tfrec.data.registry import load_dataset
from tfrec.evaluation import evaluate_full_ranking
from tfrec.training import build_model
from tfrec.training import get_preset
from tfrec.training.trainer import make_sampler
from tfrec.utils.atomic import write_json


def snapshot(model, sampler, data, start) -> dict:
    batch = {key: keras.ops.convert_to_tensor(value) for key, value in sampler.batch(0, 0).items()}
    terms = model.loss_terms(batch)
    items = keras.ops.convert_to_numpy(model.item_embedding.embeddings)
    ranking = evaluate_full_ranking(model.score_users, data, ks=(10,), return_per_user=False)
    return {
        "active_l1": float((keras.ops.convert_to_numpy(terms["l1"]) > 0).mean()),
        "active_l2": float((keras.ops.convert_to_numpy(terms["l2"]) > 0).mean()),
        "user_margin_mean": float(keras.ops.convert_to_numpy(model.user_margins).mean()),
        "item_norm_mean": float(np.linalg.norm(items, axis=1).mean()),
        "item_moved_mean_abs": float(np.abs(items - start).mean()),
        "hr@10": float(ranking.metrics["hr@10"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="hin-yelp")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--initial-margins", type=float, nargs="+", default=[0.02, 1.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    data = load_dataset(args.dataset, progress=False)
    record = {
        "command": "python benchmarks/mml_hinge_activity.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "backend": keras.backend.backend(),
        "dataset": data.summary(),
        "runs": {},
    }
    for margin in args.initial_margins:
        preset = get_preset("mml", "paper").replace(initial_margin=margin)
        sampler = make_sampler(data, preset, seed=args.seed)
        model = build_model(preset, data.num_users, data.num_items, seed=args.seed)
        start = keras.ops.convert_to_numpy(model.item_embedding.embeddings).copy()
        from tfrec.sampling.tf_dataset import make_tf_dataset  # TensorFlow-only module.

        dataset = make_tf_dataset(sampler)
        epochs = [{"epoch": 0, **snapshot(model, sampler, data, start)}]
        for epoch in range(1, args.epochs + 1):
            history = model.fit(
                dataset, epochs=1, steps_per_epoch=sampler.steps_per_epoch, verbose=0
            )
            epochs.append(
                {
                    "epoch": epoch,
                    "loss": float(history.history["loss"][-1]),
                    **snapshot(model, sampler, data, start),
                }
            )
        record["runs"][f"initial_margin={margin}"] = epochs
        for row in epochs:
            print(f"margin {margin}: " + "  ".join(f"{k} {v:.4g}" for k, v in row.items()))
        write_json(args.output, record)


if __name__ == "__main__":
    main()
