"""Model names used by presets and the CLI."""

from __future__ import annotations

import difflib

from tfrec.models.bpr import BPR
from tfrec.models.cml import CML
from tfrec.models.embedding_model import EmbeddingModel

MODELS: dict[str, type[EmbeddingModel]] = {"cml": CML, "bpr": BPR}


def get_model_class(name: str) -> type[EmbeddingModel]:
    if name not in MODELS:
        close = difflib.get_close_matches(name, MODELS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Received: `model={name!r}`. Expected one of {sorted(MODELS)}.{hint}")
    return MODELS[name]
