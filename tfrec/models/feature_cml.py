"""CML with MAML's item-feature projector: the CML_text / CML_image / CML_all baselines."""

from __future__ import annotations

import keras

from tfrec.models.maml import MAML


@keras.saving.register_keras_serializable(package="tfrec")
class FeatureCML(MAML):
    """CML whose item vectors are pulled toward a projection of the item features.

    The MAML paper's Table 2 compares MAML with "CML_text", "CML_image" and "CML_all" but
    does not say how the features enter CML (spec maml.md §12). tfrec's reading [INFER]:
    MAML without its attention, i.e. the plain squared distance `|p_u - q_k|^2` of CML plus
    MAML's feature projector and feature loss `feature_weight * sum_j |q_j - F_j|^2` (items
    initialised to F), and CML's covariance weight (lambda_c = 1, paper §4.1.3). The
    difference between MAML_x and CML_x is then the attention alone.

    Args: as `MAML` (`use_attention` is always False).
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        item_features=None,
        covariance_weight: float = 1.0,
        **kwargs,
    ):
        kwargs.pop("use_attention", None)
        super().__init__(
            num_users,
            num_items,
            item_features,
            covariance_weight=covariance_weight,
            use_attention=False,
            **kwargs,
        )
