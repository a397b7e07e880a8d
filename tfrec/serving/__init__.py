"""Serving: export trained models as SavedModels that TF Serving loads (saved_models/README.md).

TensorFlow-only code: import it explicitly (`from tfrec.serving import export_model`).
"""

from tfrec.serving.exporter import export_model
from tfrec.serving.exporter import next_version
from tfrec.serving.history_recommender_module import HistoryRecommenderModule
from tfrec.serving.history_scorers import HistoryScorer
from tfrec.serving.models_config import read_models_config
from tfrec.serving.models_config import update_models_config
from tfrec.serving.recommender_module import RecommenderModule
from tfrec.serving.scorers import SCORERS
from tfrec.serving.scorers import Scorer
from tfrec.serving.scorers import get_scorer
from tfrec.serving.warmup import write_warmup_requests
