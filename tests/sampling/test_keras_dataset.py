"""SamplerDataset under model.fit: epochs of N steps run through the stream in order."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from tests.testing import random_batch
from tfrec.models import BPR
from tfrec.sampling import NegativeSampler
from tfrec.sampling import SamplerDataset


class LoggingSampler(NegativeSampler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def batch(self, epoch_index, step):
        self.calls.append((epoch_index, step))
        return super().batch(epoch_index, step)


def train_matrix():
    import scipy.sparse as sp

    batch = random_batch(30, 20, 90, 1, seed=0)
    matrix = sp.csr_matrix(
        (np.ones(90, np.float32), (batch["user"], batch["positive"])), shape=(30, 20)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


@pytest.mark.parametrize("initial_epoch", [0, 2])
def test_fit_consumes_the_stream_in_order_across_passes(initial_epoch):
    train = train_matrix()
    sampler = LoggingSampler(train, num_negatives=2, batch_size=20, seed=0)
    passes = sampler.steps_per_epoch
    model = BPR(30, 20, 4)
    model.compile(optimizer="sgd")
    dataset = SamplerDataset(sampler, steps_per_epoch=5, initial_epoch=initial_epoch)
    model.fit(dataset, epochs=3, verbose=0, shuffle=False)
    # Keras peeks at the first batches to infer the input signature; the rest is training.
    trained = sampler.calls[-15:]
    first = initial_epoch * 5
    expected = [divmod(flat, passes) for flat in range(first, first + 15)]
    assert trained == expected


def test_length_and_validation():
    sampler = NegativeSampler(train_matrix(), num_negatives=1, batch_size=10, seed=0)
    assert len(SamplerDataset(sampler)) == sampler.steps_per_epoch
    assert len(SamplerDataset(sampler, steps_per_epoch=400)) == 400
    with pytest.raises(ValueError, match="steps_per_epoch=0"):
        SamplerDataset(sampler, steps_per_epoch=0)


def test_items_are_one_element_tuples_of_the_sampler_batches():
    sampler = NegativeSampler(train_matrix(), num_negatives=2, batch_size=20, seed=3)
    dataset = SamplerDataset(sampler)
    assert len(dataset) == sampler.steps_per_epoch == sampler.num_pairs // 20
    for step in range(len(dataset)):
        item = dataset[step]
        assert isinstance(item, tuple) and len(item) == 1
        assert_same_batch(item[0], sampler.batch(0, step))
    assert_same_batch(dataset[-1][0], sampler.batch(0, len(dataset) - 1))
    with pytest.raises(IndexError):
        dataset[len(dataset)]


def test_epoch_advances_in_keras_call_order():
    sampler = NegativeSampler(train_matrix(), num_negatives=2, batch_size=20, seed=3)
    dataset = SamplerDataset(sampler, initial_epoch=1)
    dataset.on_epoch_end()  # EpochIterator.reset() before training: no epoch has run
    dataset.on_epoch_begin()
    assert_same_batch(dataset[0][0], sampler.batch(1, 0))
    dataset.on_epoch_end()
    dataset.on_epoch_end()  # a second end (out-of-data path) does not skip a pass
    # Already on the next pass before `on_epoch_begin`: Keras starts its workers first.
    assert dataset.epoch_index == 2
    assert_same_batch(dataset[0][0], sampler.batch(2, 0))


@pytest.mark.parametrize(
    "kwargs", [{}, {"workers": 2}, {"workers": 2, "use_multiprocessing": True}]
)
def test_fit_with_workers_sees_the_serial_stream(kwargs):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("RecordingModel overrides the TensorFlow train_step; JAX: the subprocess test")
    sampler = NegativeSampler(train_matrix(), num_negatives=2, batch_size=20, seed=0)
    dataset = SamplerDataset(sampler, **kwargs)
    assert dataset.workers == kwargs.get("workers", 1)
    assert dataset.use_multiprocessing == kwargs.get("use_multiprocessing", False)
    model = RecordingModel()
    model.compile(run_eagerly=True)
    model.fit(dataset, epochs=3, shuffle=False, verbose=0)
    steps = sampler.steps_per_epoch
    expected = [sampler.batch(e, k)["user"] for e in range(3) for k in range(steps)]
    assert len(model.seen) == 3 * steps
    for seen, users in zip(model.seen, expected, strict=True):
        np.testing.assert_array_equal(seen, users)


def test_sampler_type_is_checked():
    with pytest.raises(ValueError, match="Expected a `tfrec.sampling.NegativeSampler`"):
        SamplerDataset(object())
    with pytest.raises(ValueError, match="initial_epoch=-1"):
        SamplerDataset(NegativeSampler(train_matrix(), batch_size=10), initial_epoch=-1)


@pytest.mark.slow  # a fresh interpreter importing JAX: 8-15 s on 2 shared cores
def test_fit_on_the_jax_backend():
    script = textwrap.dedent(
        """
        import keras, scipy.sparse as sp
        from tfrec.models import BPR
        from tfrec.sampling import NegativeSampler, SamplerDataset
        train = sp.random(40, 20, density=0.3, format="csr", random_state=0)
        dataset = SamplerDataset(NegativeSampler(train, num_negatives=1, batch_size=100))
        model = BPR(40, 20, 4)
        model.compile(optimizer="sgd")
        history = model.fit(dataset, epochs=2, shuffle=False, verbose=0)
        print(keras.backend.backend(), dataset.epoch_index, len(history.history["loss"]))
        """
    )
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-3:] == ["jax", "2", "2"]


def assert_same_batch(a, b):
    assert set(a) == set(b) == {"user", "positive", "negatives"}
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


class RecordingModel(keras.Model):
    """Records the users of every batch it trains on (eagerly), updates nothing."""

    def __init__(self):
        super().__init__()
        self.embedding = keras.layers.Embedding(30, 2)
        self.seen = []

    def call(self, inputs):
        return self.embedding(inputs["user"])

    def train_step(self, data):
        (inputs,) = data
        self.seen.append(keras.ops.convert_to_numpy(inputs["user"]).copy())
        return {"loss": 0.0}
