"""Builds a model from a preset and trains it with `model.fit` on sampled batches."""

from __future__ import annotations

import keras
import numpy as np

from tfrec.data.interactions import Interactions
from tfrec.models.embedding_model import EmbeddingModel
from tfrec.models.registry import get_model_class
from tfrec.models.registry import needs_item_features
from tfrec.sampling.keras_dataset import SamplerDataset
from tfrec.sampling.negative_sampler import NegativeSampler
from tfrec.training.optimizers import make_optimizer
from tfrec.training.presets import Preset


def build_model(
    preset: Preset,
    num_users: int,
    num_items: int,
    *,
    seed: int = 0,
    item_features: np.ndarray | None = None,
) -> EmbeddingModel:
    """The preset's model with its options, compiled with the preset's optimizer.

    `keras.utils.set_random_seed(seed)` runs first, so the initial weights depend on the
    seed alone.

    Args:
        item_features: `[num_items, d_in]` features of the feature models (`maml`,
            `cml-features`); see `tfrec.features.item_feature_matrix`.
    """
    keras.utils.set_random_seed(seed)
    model_class = get_model_class(preset.model)
    options = dict(preset.model_options)
    if needs_item_features(preset.model):
        if item_features is None:
            raise ValueError(
                f"Model {preset.model!r} needs item features: pass `item_features` "
                "(`tfrec train ... --item-features FEATURES.h5`)."
            )
        options["item_features"] = item_features
    elif item_features is not None:
        raise ValueError(f"Model {preset.model!r} takes no item features.")
    model = model_class(num_users, num_items, **options)
    model.build()
    # XLA: ~2x faster steps on the TensorFlow backend (JAX compiles anyway).
    model.compile(
        optimizer=make_optimizer(preset.optimizer, preset.learning_rate), jit_compile=True
    )
    return model


def make_sampler(interactions: Interactions, preset: Preset, *, seed: int = 0, training=None):
    """The authors' sampler over the training pairs with the preset's B and W.

    MML presets get a `DualTripletSampler` (item and user negatives) with the similar-pair
    buffers S_U and S_I of their `MMLTraining` (`training`, default the preset's:
    `similarity_threshold`, `max_similar_per_row`), computed from the training matrix; not
    needed, and not computed, when the model has no L_LA term.
    """
    if preset.model == "mml":
        from functools import partial

        from tfrec.data.similar_pairs import similar_pairs
        from tfrec.sampling.dual_triplet_sampler import DualTripletSampler
        from tfrec.training.mml_presets import mml_training

        training = training or mml_training(preset)
        pairs = partial(
            similar_pairs,
            theta=training.similarity_threshold,
            max_per_row=training.max_similar_per_row,
            seed=seed,
        )
        relations = preset.model_options.get("explicit_weight", 0.7) < 1.0
        sides = preset.model_options.get("relation_sides", "both")
        return DualTripletSampler(
            interactions.train,
            num_negatives=preset.num_negatives,
            batch_size=min(preset.batch_size, int(interactions.train.nnz)),
            similar_users=pairs(interactions.train)
            if relations and sides in ("both", "users")
            else None,
            similar_items=pairs(interactions.train.T)
            if relations and sides in ("both", "items")
            else None,
            seed=seed,
        )
    return NegativeSampler(
        interactions.train,
        num_negatives=preset.num_negatives,
        batch_size=min(preset.batch_size, int(interactions.train.nnz)),
        seed=seed,
    )


def fit(
    model: EmbeddingModel,
    interactions: Interactions,
    preset: Preset,
    *,
    seed: int = 0,
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: str | int = "auto",
    input_pipeline: str = "auto",
) -> keras.callbacks.History:
    """Trains `model` for `preset.epochs` epochs of `preset.steps_per_epoch` batches.

    Args:
        model: a compiled model (see `build_model`).
        interactions: the data; only `interactions.train` is used for training.
        preset: batch size, negatives, epochs, steps per epoch.
        seed: the sampler's seed.
        callbacks: Keras callbacks (e.g. `tfrec.evaluation.RankingEvaluationCallback`).
        verbose: passed to `model.fit` (progress bar by default).
        input_pipeline: `"tf.data"` (TensorFlow backend only), `"numpy"` (a
            `keras.utils.PyDataset`, every backend), or `"auto"`: tf.data on the TensorFlow
            backend, numpy otherwise.
    """
    sampler = make_sampler(interactions, preset, seed=seed)
    steps = preset.steps_per_epoch or sampler.steps_per_epoch
    if input_pipeline == "auto":
        input_pipeline = "tf.data" if keras.backend.backend() == "tensorflow" else "numpy"
    if input_pipeline == "tf.data":
        from tfrec.sampling.tf_dataset import make_tf_dataset  # TensorFlow-only module.

        dataset = make_tf_dataset(sampler)
        return model.fit(
            dataset,
            epochs=preset.epochs,
            steps_per_epoch=steps,
            shuffle=False,  # The sampler shuffles every pass itself.
            callbacks=callbacks,
            verbose=verbose,
        )
    if input_pipeline == "numpy":
        dataset = SamplerDataset(sampler, steps_per_epoch=steps)
        return model.fit(
            dataset, epochs=preset.epochs, shuffle=False, callbacks=callbacks, verbose=verbose
        )
    raise ValueError(
        f"Received: `input_pipeline={input_pipeline!r}`. Expected 'auto', 'tf.data' or 'numpy'."
    )
