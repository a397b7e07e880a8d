"""Models."""

from tfrec.models.acf import ACF
from tfrec.models.bpr import BPR
from tfrec.models.cml import CML
from tfrec.models.embedding_model import EmbeddingModel
from tfrec.models.feature_cml import FeatureCML
from tfrec.models.fism import FISM
from tfrec.models.iris import IRIS
from tfrec.models.item_similarity_model import ItemSimilarityModel
from tfrec.models.maml import MAML
from tfrec.models.mml import MML
from tfrec.models.nais import NAIS
from tfrec.models.sml import SML
from tfrec.models.wrmf import WRMF
