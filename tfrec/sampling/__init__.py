"""Sampled training batches: shuffled (user, positive) pairs with negatives.

`NegativeSampler` is the authors' (CollMetric/MAML) sampler as a seeded numpy stream and
`SamplerDataset` feeds it to `model.fit` on any backend. The tf.data pipeline lives in
`tfrec.sampling.tf_dataset` (import it only when TensorFlow is used).
"""

from tfrec.sampling.dual_triplet_sampler import DualTripletSampler
from tfrec.sampling.history_batches import HistorySampler
from tfrec.sampling.history_batches import evaluation_batches
from tfrec.sampling.history_dataset import HistoryDataset
from tfrec.sampling.keras_dataset import SamplerDataset
from tfrec.sampling.negative_sampler import NegativeSampler
from tfrec.sampling.user_histories import UserHistories

__all__ = [
    "DualTripletSampler",
    "HistoryDataset",
    "HistorySampler",
    "NegativeSampler",
    "SamplerDataset",
    "UserHistories",
    "evaluation_batches",
]
