"""Models."""

from tfrec.models.bpr import BPR
from tfrec.models.cml import CML
from tfrec.models.embedding_model import EmbeddingModel
from tfrec.models.maml import MAML
