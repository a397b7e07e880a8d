"""make_tf_dataset: the tf.data pipeline yields exactly the numpy sampler's stream."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrec.sampling import NegativeSampler
from tfrec.sampling.tf_dataset import make_tf_dataset


def make_sampler(**kwargs):
    rng = np.random.default_rng(3)
    train = sp.random(80, 50, density=0.15, format="csr", random_state=rng, dtype=np.float32)
    return NegativeSampler(train, **({"num_negatives": 3, "batch_size": 130, "seed": 4} | kwargs))


def assert_same_batch(tf_batch, np_batch):
    assert set(tf_batch) == set(np_batch) == {"user", "positive", "negatives"}
    for key, value in np_batch.items():
        assert tf_batch[key].dtype == tf.int32
        np.testing.assert_array_equal(tf_batch[key].numpy(), value)


@pytest.mark.parametrize("num_parallel_calls", [None, 1, 4, tf.data.AUTOTUNE])
def test_same_batches_as_numpy_over_several_passes(num_parallel_calls):
    sampler = make_sampler()
    assert sampler.num_pairs == 600 and sampler.steps_per_epoch == 4
    dataset = make_tf_dataset(sampler, num_epochs=3, num_parallel_calls=num_parallel_calls)
    got = list(dataset)
    expected = [batch for epoch_index in range(3) for batch in sampler.epoch(epoch_index)]
    assert len(got) == len(expected) == 12
    for tf_batch, np_batch in zip(got, expected, strict=True):
        assert_same_batch(tf_batch, np_batch)
    # Passes are reshuffled: the first batches of pass 0 and pass 1 differ.
    assert not np.array_equal(got[0]["user"].numpy(), got[4]["user"].numpy())


def test_static_shapes_and_fresh_sampler_reproduces_the_stream():
    dataset = make_tf_dataset(make_sampler(), num_epochs=2)
    spec = dataset.element_spec
    assert spec["user"].shape == spec["positive"].shape == (130,)
    assert spec["negatives"].shape == (130, 3)
    again = make_tf_dataset(make_sampler(), num_epochs=2)
    for a, b in zip(dataset, again, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())


def test_endless_stream_with_initial_epoch():
    sampler = make_sampler()
    got = list(make_tf_dataset(sampler, initial_epoch=2).take(6))
    expected = list(sampler.epoch(2)) + list(sampler.epoch(3))[:2]
    for tf_batch, np_batch in zip(got, expected, strict=True):
        assert_same_batch(tf_batch, np_batch)


def test_remainder_batch_has_a_dynamic_batch_dimension():
    sampler = make_sampler(batch_size=250, drop_remainder=False)  # 600 = 250 + 250 + 100
    dataset = make_tf_dataset(sampler, num_epochs=1, prefetch=None)
    assert dataset.element_spec["negatives"].shape.as_list() == [None, 3]
    assert [int(b["user"].shape[0]) for b in dataset] == [250, 250, 100]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_epochs": 0}, r"Received: `num_epochs=0`. Expected None or an int >= 1."),
        ({"num_epochs": 1.5}, r"Received: `num_epochs=1.5`"),
        ({"initial_epoch": -1}, r"Received: `initial_epoch=-1`. Expected an int >= 0."),
    ],
)
def test_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_tf_dataset(make_sampler(), **kwargs)
    with pytest.raises(ValueError, match="Expected a `tfrec.sampling.NegativeSampler`"):
        make_tf_dataset(object())
