"""Shared test helpers: round trips every custom object must survive."""

from __future__ import annotations

import os

import keras
import numpy as np


def assert_config_round_trip(obj, call_args=(), call_kwargs=None, atol=1e-6):
    """`from_config(get_config())` rebuilds an object that computes the same values."""
    call_kwargs = call_kwargs or {}
    clone = type(obj).from_config(obj.get_config())
    assert clone.get_config() == obj.get_config()
    if call_args:
        expected = keras.ops.convert_to_numpy(obj(*call_args, **call_kwargs))
        actual = keras.ops.convert_to_numpy(clone(*call_args, **call_kwargs))
        np.testing.assert_allclose(actual, expected, atol=atol)
    return clone


def assert_keras_file_round_trip(model, inputs, tmp_path, atol=1e-6):
    """A `.keras` save/load round trip keeps the config, the weights and the outputs."""
    path = os.path.join(tmp_path, f"{model.name}.keras")
    expected = keras.ops.convert_to_numpy(model(inputs))
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(inputs)), expected, atol=atol)
    for original, restored in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(original), keras.ops.convert_to_numpy(restored)
        )
    return loaded


def random_batch(num_users, num_items, batch_size, num_negatives, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "user": rng.integers(0, num_users, batch_size).astype(np.int32),
        "positive": rng.integers(0, num_items, batch_size).astype(np.int32),
        "negatives": rng.integers(0, num_items, (batch_size, num_negatives)).astype(np.int32),
    }


def gradients(function, *arrays):
    """Gradients of `sum(function(*arrays))` w.r.t. each array, on the active backend."""
    backend = keras.backend.backend()
    arrays = [np.asarray(a, np.float32) for a in arrays]
    if backend == "tensorflow":
        import tensorflow as tf

        variables = [tf.Variable(a) for a in arrays]
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(function(*variables))
        return [
            np.zeros_like(a) if g is None else np.asarray(g)
            for a, g in zip(arrays, tape.gradient(total, variables), strict=True)
        ]
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        grad = jax.grad(lambda *xs: jnp.sum(function(*xs)), argnums=tuple(range(len(arrays))))
        return [np.asarray(g) for g in grad(*arrays)]
    raise NotImplementedError(f"gradients() has no implementation for backend {backend!r}")
