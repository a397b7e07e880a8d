"""Custom Keras layers, regularizers and constraints shared by the models."""

from tfrec.layers.covariance_regularizer import CovarianceRegularizer
from tfrec.layers.metric_distance import MetricDistance
from tfrec.layers.unit_ball_constraint import UnitBallConstraint
from tfrec.layers.warp_weight import WarpWeight
