"""Model names used by presets and the CLI."""

from __future__ import annotations

import difflib

from tfrec.models.bpr import BPR
from tfrec.models.cml import CML
from tfrec.models.embedding_model import EmbeddingModel
from tfrec.models.feature_cml import FeatureCML
from tfrec.models.maml import MAML
from tfrec.models.mml import MML
from tfrec.models.sml import SML

MODELS: dict[str, type[EmbeddingModel]] = {
    "mml": MML,
    "sml": SML,
    "cml": CML,
    "bpr": BPR,
    "maml": MAML,
    "cml-features": FeatureCML,
}
# Models whose constructor takes `item_features` ([num_items, d_in], text then image).
FEATURE_MODELS = frozenset({"maml", "cml-features"})


def get_model_class(name: str) -> type[EmbeddingModel]:
    if name not in MODELS:
        close = difflib.get_close_matches(name, MODELS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Received: `model={name!r}`. Expected one of {sorted(MODELS)}.{hint}")
    return MODELS[name]


def needs_item_features(name: str) -> bool:
    return name in FEATURE_MODELS
