"""One ACF training step on a real batch: scores, loss, gradients and attention weights.

Compares two implementations of the same model to float rounding, where a training trace
(`acf_training_trace.py`) mixes in the drift that Adam amplifies over hundreds of steps.
The packed component attention (after 6768f90) was checked against the [N, C] grid so:

    git worktree add /tmp/grid 6768f90
    (cd /tmp/grid && PYTHONPATH=/tmp/grid python /path/to/benchmarks/acf_one_step.py \
        --features-dir /path/to/runs/features --output /tmp/grid.npz)
    python benchmarks/acf_one_step.py --output /tmp/packed.npz --compare /tmp/grid.npz

Data: lrd-office, leave-one-out, its text components; batch (pass 0, step 3) of
`ACFSampler(batch_size=256, seed=0)`; ACF with D = 128, l2 = 0.001, initial stddev 0.1,
seed 0, component attention `avg` (item-only) and `att` (full ACF).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfrec.data.registry import load_dataset
from tfrec.features.component_store import ComponentStore
from tfrec.models.acf import ACF
from tfrec.sampling.acf_batches import ACFSampler


def one_step(features_dir: str) -> dict[str, np.ndarray]:
    data = load_dataset("lrd-office", split="leave-one-out", progress=False)
    store = Path(features_dir) / "lrd-office_text_components.h5"
    components = ComponentStore(store, data.item_keys).load()
    batch = ACFSampler(data.train, batch_size=256, components=components, seed=0).batch(0, 3)
    out = {}
    for mode in ("avg", "att"):
        keras.utils.set_random_seed(0)
        model = ACF(
            data.num_users,
            data.num_items,
            128,
            component_dim=components.dim,
            component_attention=mode,
            l2=0.001,
            initializer_stddev=0.1,
        )
        model(batch)
        with tf.GradientTape() as tape:
            scores = model(batch)
            loss = model.compute_loss(x=batch, y_pred=scores)
        gradients = tape.gradient(loss, model.trainable_variables)
        alpha, beta = model.attention(batch, True)
        out.update({f"{mode}/scores": scores, f"{mode}/loss": loss, f"{mode}/alpha": alpha})
        out[f"{mode}/beta"] = beta
        for variable, gradient in zip(model.trainable_variables, gradients, strict=True):
            # Layer paths carry a per-process suffix (acf_1/...): key by position.
            out[f"{mode}/gradient {len(out)} {variable.shape}"] = tf.convert_to_tensor(gradient)
    return {key: np.asarray(value) for key, value in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features-dir", default="runs/features")
    parser.add_argument("--output", required=True, help=".npz file for this checkout's values")
    parser.add_argument("--compare", help=".npz of another checkout to compare with")
    args = parser.parse_args()
    values = one_step(args.features_dir)
    np.savez(args.output, **values)
    if args.compare:
        other = np.load(args.compare)
        if sorted(other) != sorted(values):
            raise SystemExit(f"{args.compare} holds other arrays: {sorted(other)}")
        worst = 0.0
        for key, value in values.items():
            difference = float(np.abs(value - other[key]).max(initial=0.0))
            relative = difference / max(float(np.abs(other[key]).max(initial=0.0)), 1e-30)
            worst = max(worst, relative)
            print(f"{key}: max |difference| {difference:.2e} (relative {relative:.2e})")
        print(f"largest relative difference: {worst:.2e}")


if __name__ == "__main__":
    main()
