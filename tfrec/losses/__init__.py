"""Losses. BPR uses `keras_rs.losses.PairwiseLogisticLoss` (identical definition)."""

from tfrec.losses.hinge_loss import HingeLoss
