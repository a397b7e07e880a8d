"""The same step on TensorFlow and JAX gives the same weights (each backend in a subprocess)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

STEP_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    from tfrec.models.registry import get_model_class
    from tfrec.training.optimizers import make_optimizer

    spec = json.loads(sys.argv[1])
    data = np.load(spec["inputs"])
    model = get_model_class(spec["model"])(7, 9, 4, **spec["options"])
    model.user_embedding.embeddings.assign(data["users"])
    model.item_embedding.embeddings.assign(data["items"])
    model.compile(optimizer=make_optimizer(spec["optimizer"], spec["learning_rate"]))
    batch = {"user": data["user"], "positive": data["positive"], "negatives": data["negatives"]}
    losses = [float(model.train_on_batch(x=batch)) for _ in range(3)]
    np.savez(
        spec["output"],
        users=keras.ops.convert_to_numpy(model.user_embedding.embeddings),
        items=keras.ops.convert_to_numpy(model.item_embedding.embeddings),
        losses=np.array(losses),
    )
    """
)


def run_step(backend, spec, tmp_path):
    spec = dict(spec, output=str(tmp_path / f"{backend}.npz"))
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    completed = subprocess.run(
        [sys.executable, "-c", STEP_SCRIPT, json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return np.load(spec["output"])


@pytest.mark.parametrize(
    "model,options,optimizer,learning_rate",
    [
        ("cml", {"margin": 0.8, "covariance_weight": 1.0}, "adagrad", 0.1),
        ("cml", {"margin": 0.8, "hinge_negative": "all_sum"}, "adam", 0.01),
        ("bpr", {"l2": 0.01}, "adam", 0.01),
    ],
)
def test_tensorflow_and_jax_train_identically(model, options, optimizer, learning_rate, tmp_path):
    pytest.importorskip("jax")
    rng = np.random.default_rng(0)
    inputs = tmp_path / "inputs.npz"
    np.savez(
        inputs,
        users=rng.normal(0, 0.5, (7, 4)).astype(np.float32),
        items=rng.normal(0, 0.5, (9, 4)).astype(np.float32),
        user=rng.integers(0, 7, 16).astype(np.int32),
        positive=rng.integers(0, 9, 16).astype(np.int32),
        negatives=rng.integers(0, 9, (16, 3)).astype(np.int32),
    )
    spec = {
        "model": model,
        "options": options,
        "optimizer": optimizer,
        "learning_rate": learning_rate,
        "inputs": str(inputs),
    }
    tensorflow = run_step("tensorflow", spec, tmp_path)
    jax = run_step("jax", spec, tmp_path)
    np.testing.assert_allclose(tensorflow["losses"], jax["losses"], rtol=1e-4)
    np.testing.assert_allclose(tensorflow["users"], jax["users"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tensorflow["items"], jax["items"], rtol=1e-4, atol=1e-5)
    # The steps did change the weights (the test would otherwise prove nothing).
    assert not np.allclose(tensorflow["users"], np.load(inputs)["users"])
