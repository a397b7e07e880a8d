"""The tf.data pipeline and the numpy PyDataset feed identical batches: identical models."""

import keras
import numpy as np
import pytest

from tfrec.data.synthetic import make_synthetic
from tfrec.training import build_model
from tfrec.training import fit
from tfrec.training import get_preset


@pytest.mark.parametrize("model_name", ["cml", "bpr"])
def test_tf_data_and_numpy_pipelines_train_the_same_model(model_name):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the tf.data pipeline needs the TensorFlow backend")
    data = make_synthetic(num_users=120, num_items=70, interactions_per_user=10, num_clusters=3)
    # 3 epochs of 7 steps over a sampler pass of 4 steps: epochs cross pass boundaries.
    preset = get_preset(model_name).replace(epochs=3, steps_per_epoch=7, batch_size=200)
    weights = {}
    for pipeline in ("tf.data", "numpy"):
        model = build_model(preset, data.num_users, data.num_items, seed=5)
        history = fit(model, data, preset, seed=9, verbose=0, input_pipeline=pipeline)
        weights[pipeline] = keras.ops.convert_to_numpy(model.item_embedding.embeddings)
        assert len(history.history["loss"]) == 3
    np.testing.assert_allclose(weights["tf.data"], weights["numpy"], rtol=1e-5, atol=1e-6)


def test_unknown_pipeline_is_an_error():
    data = make_synthetic(num_users=30, num_items=20, interactions_per_user=5, num_clusters=2)
    preset = get_preset("bpr").replace(epochs=1, steps_per_epoch=1, batch_size=16)
    model = build_model(preset, data.num_users, data.num_items)
    with pytest.raises(ValueError, match="input_pipeline='torch'"):
        fit(model, data, preset, input_pipeline="torch")
