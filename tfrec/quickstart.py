"""`python -m tfrec.quickstart`: the five-minute tour on data that needs no download.

Generates the embedded synthetic multimodal dataset (planted user/item clusters, see
`tfrec.data.synthetic.make_synthetic`), trains CML and BPR with their paper presets (fewer
epochs), evaluates both with the MAML full-ranking protocol against a popularity baseline,
prints the metrics table, saves each model under `runs/quickstart/`, and exports the CML
model for TF Serving into `saved_models/quickstart-cml/VERSION/`.

Use `--dataset maml-office` to run the same tour on a registry dataset instead.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def popularity_scores(interactions):
    """Scores every item by its training popularity (the same list for every user)."""
    counts = np.asarray(interactions.train.sum(axis=0), dtype=np.float32).ravel()
    return lambda users: np.broadcast_to(counts, (len(users), len(counts)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfrec.quickstart", description=__doc__)
    parser.add_argument("--dataset", help="registry dataset instead of the synthetic data")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of 400 batches per model")
    parser.add_argument("--output", default="runs/quickstart", help="where models are saved")
    parser.add_argument(
        "--export-dir",
        default="saved_models",
        help="where the CML model is exported for TF Serving",
    )
    args = parser.parse_args(argv)

    from tfrec.evaluation.full_ranking import evaluate_full_ranking
    from tfrec.training.experiment import run_experiment
    from tfrec.training.presets import get_preset

    if args.dataset:
        from tfrec.data.registry import load_dataset

        interactions = load_dataset(args.dataset)
    else:
        from tfrec.data.synthetic import make_synthetic

        interactions = make_synthetic(num_users=3000, num_items=1500, seed=0)
    print(interactions.summary(), flush=True)

    rows, trained = [], {}
    result = evaluate_full_ranking(popularity_scores(interactions), interactions, ks=(10,))
    rows.append(("popularity", result.metrics, 0.0))
    for model in ("cml", "bpr"):
        preset = get_preset(model).replace(epochs=args.epochs)
        print(f"\ntraining {model} ({preset.name} preset, {args.epochs} epochs)", flush=True)
        started = time.perf_counter()
        experiment = run_experiment(
            interactions, preset, seed=0, output_dir=f"{args.output}/{model}"
        )
        rows.append((model, experiment.metrics, time.perf_counter() - started))
        trained[model] = experiment.model

    names = ["ndcg@10", "recall@10", "hr@10", "precision@10"]
    print(f"\n{interactions.name}: full ranking, training items excluded, values in %")
    print(f"{'model':<12}" + "".join(f"{name:>14}" for name in names) + f"{'seconds':>10}")
    for model, metrics, seconds in rows:
        values = "".join(f"{100 * metrics[name]:>14.3f}" for name in names)
        print(f"{model:<12}{values}{seconds:>10.0f}")
    print(f"\nmodels saved under {args.output}/ (metrics.json, model.keras)")
    from tfrec.serving import export_model

    path = export_model(trained["cml"], interactions, args.export_dir, name="quickstart-cml")
    print(f"CML exported for TF Serving to {path} (see saved_models/README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
