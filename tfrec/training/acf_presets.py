"""Presets of ACF and SVD++ (`get_preset("acf" | "svdpp", name)`).

- `acf/paper` (default): D = 128 (the paper's tables), batches of 256 BPR triples with one
  negative, plain SGD, N(0, 0.01) embeddings, Glorot attention weights, h = 64 [INFER,
  Elliot]. The paper grids lr over {0.001 ... 0.1} and lambda over {0 ... 0.1} and does
  not report the chosen values: lr 0.05 and lambda 1e-4 here [INFER], 30 epochs [INFER].
- `acf/item-only`: item-level attention over U, V, P, X with averaged components (Table 2,
  "item ATT, component AVG").
- `acf/uv`, `acf/up`, `acf/uvp`, `acf/uvpx`: the Table 3 inputs of the item attention
  (uvpx = full ACF).
- `acf/elliot`: the Elliot re-implementation's defaults (Adam 5e-4, lambda 2.5e-5, D = 100).
- `svdpp/paper`: SVD++ = item AVG without content, trained with BPR like ACF.
"""

from __future__ import annotations

from tfrec.training.presets import Preset
from tfrec.training.presets import register_preset

ACF_MODELS = ("acf", "svdpp")
_PAPER = dict(
    optimizer="sgd",
    learning_rate=0.05,
    batch_size=256,
    num_negatives=1,
    steps_per_epoch=None,
    epochs=30,
)
_PAPER_SOURCE = (
    "ACF paper §4-5: BPR triples with one negative, SGD, batch 256 (grid 256/512), D 128, "
    "N(0, 0.01) embeddings, Glorot attention; lr 0.05 and lambda 1e-4 picked from the "
    "paper's grids [INFER: not reported], 30 epochs [INFER], attention h 64 [INFER, Elliot]"
)
_ACF_BASE = dict(embedding_dim=128, l2=1e-4, item_hidden=64, component_hidden=64)
_VARIANTS = {
    "paper": ({}, "full ACF: item and component attention, item inputs U+V+P+X"),
    "item-only": ({"component_attention": "avg"}, "item attention, averaged components"),
    "uv": ({"attention_inputs": ("U", "V")}, "Table 3: item attention inputs U+V"),
    "up": ({"attention_inputs": ("U", "P")}, "Table 3: item attention inputs U+P"),
    "uvp": ({"attention_inputs": ("U", "V", "P")}, "Table 3: item attention inputs U+V+P"),
    "uvpx": ({"attention_inputs": ("U", "V", "P", "X")}, "Table 3: U+V+P+X (= full ACF)"),
}
for _name, (_options, _title) in _VARIANTS.items():
    register_preset(
        Preset(
            name=_name,
            model="acf",
            model_options={**_ACF_BASE, **_options},
            source=f"{_title}. {_PAPER_SOURCE}",
            **_PAPER,
        ),
        default=_name == "paper",
    )
register_preset(
    Preset(
        name="elliot",
        model="acf",
        model_options={**_ACF_BASE, "embedding_dim": 100, "l2": 2.5e-5},
        optimizer="adam",
        learning_rate=5e-4,
        batch_size=256,
        num_negatives=1,
        steps_per_epoch=None,
        epochs=30,
        source="Elliot ACF defaults (spec acf.md §5): Adam 5e-4, l_w 2.5e-5, 100 factors, "
        "attention layers (64, 1); batches of 256 triples instead of Elliot's single triple",
    )
)
register_preset(
    Preset(
        name="paper",
        model="svdpp",
        model_options={"embedding_dim": 128, "l2": 1e-4, "item_attention": "avg"},
        source="SVD++ as the ACF paper's baseline: ACF with item AVG and no content, BPR "
        f"loss. {_PAPER_SOURCE}",
        **_PAPER,
    ),
    default=True,
)
