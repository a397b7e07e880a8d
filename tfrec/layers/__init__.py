"""Custom Keras layers, regularizers and constraints shared by the models."""

from tfrec.layers.covariance_regularizer import CovarianceRegularizer
from tfrec.layers.feature_fusion import FeatureFusion
from tfrec.layers.interest_related_network import InterestRelatedNetwork
from tfrec.layers.knowledge_sharing_unit import KnowledgeSharingUnit
from tfrec.layers.learned_metric import LearnedMetric
from tfrec.layers.maml_attention import MAMLAttention
from tfrec.layers.metric_distance import MetricDistance
from tfrec.layers.nais_attention import NAISAttention
from tfrec.layers.row_normalization import l2_normalize_rows
from tfrec.layers.smoothed_softmax import SmoothedSoftmax
from tfrec.layers.sparse_read_embedding import SparseReadEmbedding
from tfrec.layers.unit_ball_constraint import UnitBallConstraint
from tfrec.layers.warp_weight import WarpWeight
