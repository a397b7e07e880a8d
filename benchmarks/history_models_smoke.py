"""Smoke run of FISM and NAIS on ml-1m-sample: a few epochs, 1 + 99 HR@10/NDCG@10, rows/s.

    KERAS_BACKEND=tensorflow python benchmarks/history_models_smoke.py [--epochs 2]
        [--dataset ml-1m-sample] [--embedding-dim 16] [--batch-size 512] [--lr 0.05]

Not a reproduction (the authors train 500 FISM + 100 NAIS epochs): it checks that the
pipeline trains and evaluates end to end and how fast. Data: the registry dataset (its
default split; for ml-1m-sample leave-one-out latest with 99 stored test negatives, which
are sampled with `sample_test_negatives(seed=0)` when a dataset has none). Training:
`HistorySampler` (4 negatives, target excluded, histories in time order, batches grouped
by length) through `HistoryDataset` and `model.fit`; Adagrad with initial accumulator 1e-8
(NAIS code), the learning rate of the NAIS README example (0.05). NAIS starts from the
trained FISM factors (NAIS code `pretrain=1`). Evaluation: protocol C of
spec/evaluation.md with pessimistic ties, each user's full training history. Item
popularity (training counts) is printed as a reference row. One sample = one
(history, item, label) row; samples/s is rows / wall-clock training seconds, including
the per-shape traces/compilations of the first epoch.
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from tfrec.data.registry import load_dataset
from tfrec.data.splits import sample_test_negatives
from tfrec.evaluation.sampled import evaluate_sampled
from tfrec.models.fism import FISM
from tfrec.models.nais import NAIS
from tfrec.sampling.history_batches import HistorySampler
from tfrec.sampling.history_dataset import HistoryDataset
from tfrec.training.optimizers import make_optimizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m-sample")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--embedding-dim", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    data = load_dataset(args.dataset, progress=False)
    if data.test_negatives is None:
        data = sample_test_negatives(data, num_negatives=99, seed=0)
    print(data.summary())
    print(f"backend {keras.backend.backend()}, epochs {args.epochs}, e = {args.embedding_dim}")

    popularity = np.asarray(data.train.sum(axis=0)).ravel().astype(np.float32)
    result = evaluate_sampled(lambda users, items: popularity[items], data, ks=(10,))
    print(f"{'popularity':>10}: HR@10 {result.metrics['hr@10']:.4f}  ", end="")
    print(f"NDCG@10 {result.metrics['ndcg@10']:.4f}")

    fism = FISM(data.num_items, args.embedding_dim)
    run("FISM", fism, data, args)
    nais = NAIS(data.num_items, args.embedding_dim, attention_size=args.embedding_dim)
    nais.load_item_weights(fism)
    run("NAIS", nais, data, args)


def run(name, model, data, args) -> None:
    sampler = HistorySampler(
        data.train,
        num_negatives=4,
        batch_size=args.batch_size,
        timestamps=data.train_timestamps,
        seed=args.seed,
    )
    model.compile(optimizer=make_optimizer("adagrad", args.lr, initial_accumulator_value=1e-8))
    dataset = HistoryDataset(sampler)
    for epoch in range(args.epochs):
        start = time.perf_counter()
        history = model.fit(dataset, epochs=1, verbose=0, shuffle=False)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        scorer = model.sampled_scorer(data.train, timestamps=data.train_timestamps)
        result = evaluate_sampled(scorer, data, ks=(10,))
        evaluation = time.perf_counter() - start
        print(
            f"{name:>10} epoch {epoch + 1}: loss {history.history['loss'][-1]:.4f}  "
            f"HR@10 {result.metrics['hr@10']:.4f}  NDCG@10 {result.metrics['ndcg@10']:.4f}  "
            f"{sampler.num_rows / seconds:,.0f} samples/s ({seconds:.1f} s)  "
            f"evaluation {evaluation:.1f} s"
        )


if __name__ == "__main__":
    main()
