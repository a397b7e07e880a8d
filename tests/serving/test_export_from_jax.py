"""A model trained on the JAX backend exports the same servable graph (weights copied as numpy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from tfrec.data.synthetic import make_synthetic
    from tfrec.evaluation import top_k_items
    from tfrec.serving import export_model
    from tfrec.training import build_model, fit, get_preset

    data = make_synthetic(num_users=40, num_items=30, interactions_per_user=6, num_clusters=2)
    preset = get_preset("bpr").replace(
        embedding_dim=4, item_bias=True, initializer_stddev=0.5, batch_size=64,
        num_negatives=2, steps_per_epoch=2, epochs=1,
    )
    model = build_model(preset, data.num_users, data.num_items, seed=0)
    fit(model, data, preset, verbose=0)
    path = export_model(model, data, sys.argv[1], name="jax-bpr", warmup=False)
    items, scores = top_k_items(model.score_users_numpy, np.arange(40), 7, data.train)
    bias = keras.ops.convert_to_numpy(model.bias.embeddings)
    json.dump(
        {"path": str(path), "items": items.tolist(), "scores": scores.tolist(),
         "bias_spread": float(np.ptp(bias))},
        open(sys.argv[2], "w"),
    )
    """
)


@pytest.mark.slow
def test_model_trained_on_jax_exports_and_matches(tmp_path):
    environment = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = tmp_path / "expected.json"
    process = subprocess.run(
        [sys.executable, "-c", SCRIPT, tmp_path / "saved", result],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    expected = json.loads(result.read_text())
    assert expected["bias_spread"] > 0  # Training moved the item bias: it is exported too.
    loaded = tf.saved_model.load(expected["path"])
    output = loaded.signatures["serving_default"](
        user_keys=tf.constant([f"u{u}" for u in range(40)]), k=tf.constant(7)
    )
    np.testing.assert_array_equal(output["item_ids"].numpy(), expected["items"])
    np.testing.assert_allclose(output["scores"].numpy(), expected["scores"], atol=1e-5)
