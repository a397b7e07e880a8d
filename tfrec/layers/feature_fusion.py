"""MAML's multimodal fusion MLP: item features -> a point in the unit ball of the metric space."""

from __future__ import annotations

import keras

from tfrec.layers.row_normalization import l2_normalize_rows
from tfrec.layers.unit_ball_constraint import UnitBallConstraint


@keras.saving.register_keras_serializable(package="tfrec")
class FeatureFusion(keras.layers.Layer):
    """Projects concatenated item features to the embedding space (MAML code, spec maml.md §2.1).

    `x = n([text; image])`, `h1 = ReLU(A1 x)`, `h2 = ReLU(A2 n(h1))`, `h3 = ReLU(A3 n(h2))`,
    `z = A4 h3` (linear), `F = clip_rows(scaling * z, clip_norm)`, where `n` is TF1's row
    L2 normalisation. Widths H, H/2, H/2, output_dim. The paper (Eq. 7) describes an all-ReLU
    MLP without the normalisations; this layer follows the code. Dropout sits after the
    first layer as in the code, where it is inactive (TF1 inference mode): it only acts with
    `dropout_active=True`, and then only in training.

    Args:
        output_dim: f, the embedding size.
        hidden_dim: H (code: 256).
        scaling: the code's `feature_projection_scaling_factor` (1.0).
        clip_norm: radius of the output ball (1.0).
        dropout: dropout rate after the first layer (code: 0.2).
        dropout_active: apply the dropout in training (the code never does).

    Call arguments:
        features: `[n, d_in]` concatenated item features (text first, then image).
    """

    def __init__(
        self,
        output_dim: int,
        hidden_dim: int = 256,
        scaling: float = 1.0,
        clip_norm: float = 1.0,
        dropout: float = 0.2,
        dropout_active: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.output_dim = int(output_dim)
        self.hidden_dim = int(hidden_dim)
        self.scaling = float(scaling)
        self.clip_norm = float(clip_norm)
        self.dropout = float(dropout)
        self.dropout_active = bool(dropout_active)
        half = self.hidden_dim // 2
        self.layer_1 = keras.layers.Dense(self.hidden_dim, activation="relu", name="fusion_1")
        self.layer_2 = keras.layers.Dense(half, activation="relu", name="fusion_2")
        self.layer_3 = keras.layers.Dense(half, activation="relu", name="fusion_3")
        self.output_layer = keras.layers.Dense(self.output_dim, name="fusion_output")
        self.dropout_layer = keras.layers.Dropout(self.dropout)
        self.clip = UnitBallConstraint(self.clip_norm)

    def build(self, input_shape):
        half = self.hidden_dim // 2
        self.layer_1.build(input_shape)
        self.layer_2.build((None, self.hidden_dim))
        self.layer_3.build((None, half))
        self.output_layer.build((None, half))

    def call(self, features, training=False):
        hidden = self.layer_1(l2_normalize_rows(features))
        if self.dropout_active:
            hidden = self.dropout_layer(hidden, training=training)
        hidden = self.layer_2(l2_normalize_rows(hidden))
        hidden = self.layer_3(l2_normalize_rows(hidden))
        return self.clip(self.scaling * self.output_layer(hidden))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_dim": self.output_dim,
                "hidden_dim": self.hidden_dim,
                "scaling": self.scaling,
                "clip_norm": self.clip_norm,
                "dropout": self.dropout,
                "dropout_active": self.dropout_active,
            }
        )
        return config
