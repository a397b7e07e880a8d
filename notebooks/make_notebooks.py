"""Writes the notebooks from plain cell lists (edit here, then run: python notebooks/make_notebooks.py).

`--execute` also runs them with full settings and saves the outputs (needs the datasets in
$TFREC_DATA_DIR); the committed notebooks were written that way.

Every notebook reads TFREC_NOTEBOOK_SMALL: when set (the test suite does), it trains for
a few batches so that tests/test_notebooks.py can execute it in seconds.
"""

import shutil
import subprocess
from pathlib import Path

import nbformat

QUICKSTART = [
    (
        "markdown",
        """# tfrec quickstart: CML on MAML's Office split

Loads a registry dataset, builds the authors' negative sampler as a `tf.data` pipeline, trains
CML with `model.fit` (the MAML paper's CML settings), evaluates with the full-ranking protocol
every epoch through a Keras callback, and plots the training curves, the metrics and the item
embeddings coloured by their Office category.""",
    ),
    (
        "code",
        """import os

import keras
import matplotlib.pyplot as plt
import numpy as np

from tfrec.data.registry import load_dataset
from tfrec.evaluation import RankingEvaluationCallback
from tfrec.evaluation import evaluate_full_ranking
from tfrec.sampling import NegativeSampler
from tfrec.training import build_model
from tfrec.training import get_preset

SMALL = bool(os.environ.get("TFREC_NOTEBOOK_SMALL"))  # set by the test suite
print("Keras backend:", keras.backend.backend())""",
    ),
    (
        "markdown",
        """## Data
`load_dataset` downloads the files once (or finds them in `$TFREC_DATA_DIR`), verifies their
sha256 and joins the LRD Office item text and categories by ASIN.""",
    ),
    (
        "code",
        """data = load_dataset("maml-office")
print(data.summary())
print("example item:", data.item_keys[0], "->", data.item_side.text.get(data.item_keys[0], "")[:80])""",
    ),
    (
        "markdown",
        """## Input pipeline
The sampler reproduces the authors': every pass shuffles the training pairs, cuts batches of
B = 5000 and draws W = 4 uniform negatives per pair, re-drawn while they are training
positives of the user. On the TensorFlow backend it runs as a `tf.data` pipeline.""",
    ),
    (
        "code",
        """preset = get_preset("cml")
if SMALL:
    preset = preset.replace(epochs=2, steps_per_epoch=5)
print(preset.source)
sampler = NegativeSampler(data.train, num_negatives=preset.num_negatives, batch_size=preset.batch_size, seed=0)
if keras.backend.backend() == "tensorflow":
    from tfrec.sampling.tf_dataset import make_tf_dataset
    dataset = make_tf_dataset(sampler)
else:
    from tfrec.sampling import SamplerDataset
    dataset = SamplerDataset(sampler, steps_per_epoch=preset.steps_per_epoch)
batch = sampler.batch(0, 0)
{name: value.shape for name, value in batch.items()}""",
    ),
    (
        "markdown",
        """## Training with `model.fit`
The callback evaluates every epoch (full ranking over all 2,406 items, training items excluded)
and writes the metrics into the History. They are learning curves only; the number to report
is the final model's (below).""",
    ),
    (
        "code",
        """model = build_model(preset, data.num_users, data.num_items, seed=0)
callback = RankingEvaluationCallback(data, ks=(10,), every_n_epochs=1, verbose=0)
fit_options = dict(epochs=preset.epochs, callbacks=[callback], verbose=0, shuffle=False)
if keras.backend.backend() == "tensorflow":
    history = model.fit(dataset, steps_per_epoch=preset.steps_per_epoch, **fit_options)
else:
    history = model.fit(dataset, shuffle=False, **fit_options)
result = evaluate_full_ranking(model.score_users_numpy, data, ks=(10,))
print(result)""",
    ),
    (
        "code",
        """epochs = np.arange(1, len(history.history["loss"]) + 1)
figure, axes = plt.subplots(1, 2, figsize=(11, 3.5))
axes[0].plot(epochs, history.history["loss"], marker="o")
axes[0].set(title="training loss (batch sum)", xlabel="epoch (400 batches)", ylabel="loss")
for name in ["ndcg@10", "recall@10", "hr@10", "precision@10"]:
    axes[1].plot(epochs, 100 * np.array(history.history[name]), marker="o", label=name)
axes[1].axhline(6.680, color="gray", linestyle="--", label="paper CML NDCG@10")
axes[1].set(title="test metrics during training", xlabel="epoch", ylabel="%")
axes[1].legend(fontsize=8)
plt.tight_layout()""",
    ),
    (
        "markdown",
        """## Per-user metrics and the embedding space
`result.per_user` holds every user's value (for paired t-tests). The item embeddings, projected
to 2-D with PCA, are coloured by the item's Office category (LRD `item_meta.csv`).""",
    ),
    (
        "code",
        """figure, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].hist(result.per_user["ndcg@10"], bins=30)
axes[0].set(title="NDCG@10 per test user", xlabel="NDCG@10", ylabel="users")
items = keras.ops.convert_to_numpy(model.item_embedding.embeddings)
centered = items - items.mean(0)
_, _, components = np.linalg.svd(centered, full_matrices=False)
projected = centered @ components[:2].T
labels, names = data.item_labels()
top = np.argsort(-np.bincount(labels[labels >= 0]))[:6]
for code in top:
    chosen = labels == code
    axes[1].scatter(*projected[chosen].T, s=6, label=str(names[code]))
axes[1].set(title="item embeddings (PCA), six largest categories")
axes[1].legend(fontsize=7, markerscale=2)
plt.tight_layout()""",
    ),
]


def _is_log_noise(text):
    lines = [line for line in text.splitlines() if line.strip()]
    markers = (
        "absl::InitializeLog",
        "cudart_stub",
        "cuda_platform",
        "cpu_feature_guard",
        "rebuild TensorFlow",
        "To enable the following",
    )
    return all(any(marker in line for marker in markers) for line in lines)


def write(name, cells, execute=False):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for kind, source in cells:
        maker = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        notebook.cells.append(maker(source))
    path = Path(__file__).parent / name
    if execute:  # Full settings; the outputs (plots) are saved for readers of the repository.
        from nbclient import NotebookClient

        NotebookClient(notebook, timeout=1800, kernel_name="python3").execute()
        code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
        for cell in code_cells:  # TensorFlow's C++ start-up lines are noise for readers.
            cell["outputs"] = [
                output
                for output in cell["outputs"]
                if not (output.get("name") == "stderr" and _is_log_noise(output["text"]))
            ]
    nbformat.write(notebook, path)
    ruff = shutil.which("ruff")
    if ruff:  # Same formatting as the rest of the code base (`make lint` checks notebooks).
        subprocess.run([ruff, "format", "--quiet", str(path)], check=True)
    print("wrote", path)


if __name__ == "__main__":
    import sys

    write("quickstart.ipynb", QUICKSTART, execute="--execute" in sys.argv)
