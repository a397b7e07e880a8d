"""SamplerDataset under model.fit: epochs of N steps run through the stream in order."""

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
