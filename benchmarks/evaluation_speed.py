"""Full-ranking evaluation time for all MAML Office test users, tfrec vs the authors' method.

    python benchmarks/evaluation_speed.py [--repeats 5] [--keras-rs]

Both sides score users in blocks with the same CML scores (squared Euclidean distance,
d = 64, random unit-ball embeddings) and compute P/R/NDCG/HR@10 on the same split:

- tfrec: `tfrec.evaluation.evaluate_full_ranking` (vectorised masking, exact top-k).
- peer: the algorithm of the authors' evaluator (CollMetric/MAML `evaluator.py`, spec
  evaluation.md A.4) re-expressed in numpy: per block, take the top K + max|R_u| items, then
  walk each user's list in Python skipping training items until K remain. It is a peer,
  not the authors' TF1 code (which cannot be fetched here); the issue quotes the authors'
  evaluator at about 2.5 s on these machines.

Prints the median time of `--repeats` runs and checks that both give the same metrics.
With `--keras-rs`, also times `keras_rs.metrics.NDCG` and `RecallAtK` (one `update_state`
over the dense `[4,512, 2,406]` scores, training items masked) and checks their values.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import numpy as np
from _office import add_office_arguments
from _office import load_office

from tfrec.evaluation import evaluate_full_ranking

QUOTED_AUTHORS_SECONDS = 2.5


def peer_evaluate(score_fn, interactions, k=10, block=1024):
    train, test = interactions.train.tocsr(), interactions.test.tocsr()
    users = interactions.test_users()
    max_train = int(np.diff(train.indptr).max())
    totals = {"precision": 0.0, "recall": 0.0, "ndcg": 0.0, "hr": 0.0}
    for start in range(0, len(users), block):
        chunk = users[start : start + block]
        scores = score_fn(chunk)
        width = k + max_train
        top = np.argpartition(-scores, width, axis=1)[:, :width]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, 1)
        for row, user in enumerate(chunk):
            seen = set(train.indices[train.indptr[user] : train.indptr[user + 1]])
            truth = set(test.indices[test.indptr[user] : test.indptr[user + 1]])
            picked = [item for item in top[row] if item not in seen][:k]
            hits = [rank for rank, item in enumerate(picked) if item in truth]
            dcg = sum(1 / math.log2(rank + 2) for rank in hits)
            idcg = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(truth))))
            totals["precision"] += len(hits) / k
            totals["recall"] += len(hits) / len(truth)
            totals["ndcg"] += dcg / idcg
            totals["hr"] += float(bool(hits))
    return {f"{name}@{k}": value / len(users) for name, value in totals.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_office_arguments(parser)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keras-rs", action="store_true", help="also time keras-rs metrics")
    args = parser.parse_args()

    interactions = load_office(args)
    rng = np.random.default_rng(0)
    users = rng.normal(size=(interactions.num_users, 64)).astype(np.float32)
    items = rng.normal(size=(interactions.num_items, 64)).astype(np.float32)
    users /= np.linalg.norm(users, axis=1, keepdims=True)
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    item_norms = (items**2).sum(1)

    def score_fn(user_ids):
        u = users[user_ids]
        return -((u**2).sum(1, keepdims=True) - 2 * u @ items.T + item_norms)

    import keras

    from tfrec.models import CML

    model = CML(interactions.num_users, interactions.num_items, 64)
    model.user_embedding.embeddings.assign(users)
    model.item_embedding.embeddings.assign(items)
    model_label = f"tfrec, CML.score_users ({keras.backend.backend()})"
    timings = {"tfrec": [], "peer (authors' algorithm, numpy)": [], model_label: []}
    results = {}
    for _ in range(args.repeats):
        for name, function in (
            ("tfrec", lambda: evaluate_full_ranking(score_fn, interactions, ks=(10,)).metrics),
            ("peer (authors' algorithm, numpy)", lambda: peer_evaluate(score_fn, interactions)),
            (
                model_label,
                lambda: evaluate_full_ranking(model.score_users_numpy, interactions).metrics,
            ),
        ):
            started = time.perf_counter()
            results[name] = function()
            timings[name].append(time.perf_counter() - started)
    ours, theirs, model_metrics = results.values()
    for metric in ours:
        assert math.isclose(ours[metric], theirs[metric], rel_tol=1e-9), (metric, ours, theirs)
        assert math.isclose(ours[metric], model_metrics[metric], rel_tol=1e-3), metric

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(
        f"{len(interactions.test_users()):,} Office test users x {interactions.num_items:,} items, K = 10"
    )
    peer_time = statistics.median(timings["peer (authors' algorithm, numpy)"])
    model_time = statistics.median(timings[model_label])
    for name, values in timings.items():
        median = statistics.median(values)
        print(
            f"{name:<44} median {median:.3f} s over {len(values)} runs"
            f"  (peer time / this: x{peer_time / median:.1f})"
        )
    print(
        f"{'authors evaluator (quoted, not run)':<44} {QUOTED_AUTHORS_SECONDS:.1f} s"
        f"  (quoted / CML model: x{QUOTED_AUTHORS_SECONDS / model_time:.1f})"
    )
    print("identical metrics:", {name: round(100 * value, 4) for name, value in ours.items()})
    if args.keras_rs:
        time_keras_rs(score_fn, interactions, ours, args.repeats)


def time_keras_rs(score_fn, interactions, ours, repeats):
    import keras
    import keras_rs

    users = interactions.test_users()
    scores = score_fn(users)
    labels = interactions.test[users].toarray()
    mask = interactions.train[users].toarray() == 0
    for name, cls in (
        ("ndcg@10", keras_rs.metrics.NDCG),
        ("recall@10", keras_rs.metrics.RecallAtK),
    ):
        seconds = []
        for _ in range(repeats):
            metric = cls(k=10, shuffle_ties=False)
            started = time.perf_counter()
            metric.update_state({"labels": labels, "mask": mask}, scores)
            value = float(metric.result())
            seconds.append(time.perf_counter() - started)
        assert math.isclose(value, ours[name], rel_tol=1e-4), (name, value, ours[name])
        print(
            f"{'keras_rs ' + cls.__name__ + ' (' + keras.backend.backend() + ')':<44} median "
            f"{statistics.median(seconds):.3f} s over {repeats} runs (one metric, same value)"
        )


if __name__ == "__main__":
    main()
