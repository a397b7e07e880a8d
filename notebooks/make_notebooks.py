"""Writes the notebooks from plain cell lists (edit here, then run: python notebooks/make_notebooks.py).

Names on the command line select notebooks (default: all). `--execute` also runs them with
full settings and saves the outputs (needs the datasets in $TFREC_DATA_DIR); the committed
notebooks were written that way.

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

MAML = [
    (
        "markdown",
        """# MAML's attention, as in the paper's Fig. 3 and Fig. 4

MAML (Liu et al., ACM MM 2019) gives every (user, item) pair an attention vector
a(u, i) in (0, 64)^64 that weights the 64 dimensions of the squared distance
D(u, i) = sum_l a_l(u, i)^2 (p_ul - q_il)^2. Its §4.4 shows the vectors in two ways:

- **Fig. 3**: heatmaps (rows x 64 dimensions) of (a) one user's attention over the items they
  bought and (b) the attention of the users of one item. The paper reads them as "the user
  preference on different aspects is varying across different items" and "different users pay
  attention to different aspects of the same item".
- **Fig. 4**: t-SNE of all items of one user, once by the item embeddings q_i and once by the
  attention vectors a(u, i). The paper reads the difference between the two pictures as "a user
  pays different attention to the various aspects of different items".

This notebook trains MAML on the Office split with the authors' code settings (`code` preset),
draws both figures, and puts numbers next to Fig. 4: how well each layout groups items of one
Office category (silhouette, kNN label agreement against its chance level) and how many
neighbours the two layouts share.

**Caveat (spec maml.md §10 #1).** The authors' code optimises only U and V
(`var_list=[U, V]`): the attention network (and the feature fusion network) stay at their
random initialisation for the whole run, and the `code` preset does the same
(`train_attention_and_fusion=False`). The attention is then a *fixed random* function of
(p_u, q_i, F_i); it still differs from pair to pair because p and q are learned, but no
gradient ever shapes it. The pictures below show that function. The paper's Eq. 12 model is the
`paper` preset (`get_preset("maml", "paper")`).""",
    ),
    (
        "code",
        """import os

import keras
import matplotlib.pyplot as plt
import numpy as np

from tfrec.analysis import attention_tsne
from tfrec.analysis import attention_weight_bounds
from tfrec.analysis import item_attention_map
from tfrec.analysis import layout_agreement
from tfrec.analysis import neighbour_overlap
from tfrec.analysis import plot_attention_map
from tfrec.analysis import plot_tsne_pair
from tfrec.analysis import user_attention_map
from tfrec.data.registry import load_dataset
from tfrec.evaluation import evaluate_full_ranking
from tfrec.features import item_feature_matrix
from tfrec.features import text_features_from_side_info
from tfrec.training import build_model
from tfrec.training import fit
from tfrec.training import get_preset

SMALL = bool(os.environ.get("TFREC_NOTEBOOK_SMALL"))  # set by the test suite
print("Keras backend:", keras.backend.backend())""",
    ),
    (
        "markdown",
        """## Data and text features
The Office split of the MAML repository, with the LRD item text and categories joined by ASIN.
MAML's text features are PV-DM paragraph vectors (gensim Doc2Vec); the authors' `doc2vecFile`
is not public and its dimension is not stated, so we train 100-d vectors (gensim's default) on
each item's own text. This notebook uses the text modality only (the paper's MAML_text row of
Table 2); image features would be concatenated after the text columns.""",
    ),
    (
        "code",
        """data = load_dataset("maml-office")
print(data.summary())
text_table, _ = text_features_from_side_info(
    data.item_side.text, data.item_keys, dim=100, epochs=5 if SMALL else 40, seed=0
)
features, dims = item_feature_matrix({"text": text_table}, data.item_keys)
print("item features:", features.shape, dims)""",
    ),
    (
        "markdown",
        """## Training and evaluation
The `code` preset: the authors' README command for Office (f = 64, B = 5000, W = 4, m = 1.6,
lambda_f = 5, lambda_c = 5, Adam 1e-3 over U and V only, 400 batches per epoch). Evaluation is
the authors' full ranking (all items, training items excluded, K = 10).""",
    ),
    (
        "code",
        """preset = get_preset("maml", "code")
if SMALL:
    preset = preset.replace(epochs=1, steps_per_epoch=5)
print(preset.source)
model = build_model(preset, data.num_users, data.num_items, seed=0, item_features=features)
history = fit(model, data, preset, seed=0, verbose=0)
result = evaluate_full_ranking(model.score_users_numpy, data, ks=(10,))
print(result)
print("paper, MAML_text on Office (%): NDCG@10 7.094, Recall@10 9.346, HR@10 25.165, P@10 3.222")""",
    ),
    (
        "markdown",
        """## Fig. 3: attention heatmaps
(a) The user with the most training items, over (up to) 64 of them; (b) the most popular item,
over (up to) 64 of its training users. Rows are items (a) or users (b), columns the 64
dimensions; each row sums to 64 (the alpha = f scaled softmax), so uniform weights would be 1.""",
    ),
    (
        "code",
        """items_per_user = np.diff(data.train.indptr)
users_per_item = np.diff(data.train.tocsc().indptr)
user = int(np.argmax(items_per_user))
item = int(np.argmax(users_per_item))
user_items = data.train[user].indices[:64]
item_users = data.train[:, item].nonzero()[0][:64]
print(f"user {user}: {items_per_user[user]} training items")
print(f"item {item}: {users_per_item[item]} training users")

user_map = user_attention_map(model, user, user_items, interactions=data)
item_map = item_attention_map(model, item, item_users, interactions=data)
figure, axes = plt.subplots(1, 2, figsize=(13, 5.5))
plot_attention_map(user_map, ax=axes[0])
plot_attention_map(item_map, ax=axes[1])
axes[0].set_title(f"(a) user {user}: attention over {len(user_items)} of their items")
axes[1].set_title(f"(b) item {item}: attention of {len(item_users)} of its users")
plt.tight_layout()""",
    ),
    (
        "markdown",
        """How much do the weights vary? For each map: the range of the weights, their spread across
the rows of one dimension (what differs between items, or between users), and across the
dimensions of one row (how far a row is from uniform weights of 1). The heatmaps' colour
scales stretch over that range, so small differences look large.

The last line bounds every weight over *all* possible (user, item) pairs: the attention's
output layer reads a unit vector n(e), so each pre-softmax score lies in
[ReLU(b_l - |B2_l|), ReLU(b_l + |B2_l|)] (`attention_weight_bounds`). In the code-faithful
mode B2 and b stay at their random initialisation, so this holds for the whole run: however
p and q are trained, no weight leaves these bounds (the paper describes weights adjusting
within [0, 64]).""",
    ),
    (
        "code",
        """for name, attention_map in [("user map (a)", user_map), ("item map (b)", item_map)]:
    values = attention_map.values
    print(
        f"{name}: weights in [{values.min():.2f}, {values.max():.2f}], "
        f"row sums {values.sum(1).mean():.1f}; "
        f"std across rows (mean over dims) {values.std(0).mean():.3f}; "
        f"std across dims (mean over rows) {values.std(1).mean():.3f}"
    )
lower, upper = attention_weight_bounds(model)
print(f"every possible pair: weights within [{lower.min():.2f}, {upper.max():.2f}] (of 0..64)")""",
    ),
    (
        "markdown",
        """## Fig. 4: t-SNE of one user's items
The same user (all their training items), laid out by the item embeddings q_i (left) and by
the attention vectors a(u, i) (right). A dot is an item, with the same colour in both panels:
its Office category (LRD `item_meta.csv`; the eight most frequent among the user's items, the
rest as "other"). The paper colours groups of items instead and reads the pictures by eye;
the numbers below say whether the attention groups the items differently from the embeddings.""",
    ),
    (
        "code",
        """tsne_items = data.train[user].indices
labels, label_names = data.item_labels()
tsne_labels = labels[tsne_items]
embedding_2d, attention_2d = attention_tsne(model, user, tsne_items, seed=0, perplexity=15.0)
figure = plot_tsne_pair(embedding_2d, attention_2d, tsne_labels, label_names)
figure.suptitle(f"user {user}: {len(tsne_items)} training items")
figure.tight_layout()""",
    ),
    (
        "markdown",
        """**The layouts in numbers.** Silhouette (-1..1, higher: categories form tighter groups)
and kNN label agreement (share of each item's 5 nearest items in the same category, against
its chance level under shuffled labels), for the 2-D layouts and for the original 64-d
vectors; then the share of 5-nearest neighbours the two representations have in common
(1: they group the items the same way; about 5 / (n - 1): unrelated).""",
    ),
    (
        "code",
        """item_vectors = keras.ops.convert_to_numpy(model.item_embedding.embeddings)[tsne_items]
attention_vectors = user_attention_map(model, user, tsne_items).values
rows = {
    "q_i, t-SNE 2-D": embedding_2d,
    "a(u,i), t-SNE 2-D": attention_2d,
    "q_i, 64-d": item_vectors,
    "a(u,i), 64-d": attention_vectors,
}
print(f"{'layout':<20}{'silhouette':>12}{'kNN agree':>12}{'chance':>10}")
for name, points in rows.items():
    s = layout_agreement(points, tsne_labels, k=5)
    print(f"{name:<20}{s['silhouette']:>12.3f}{s['knn_agreement']:>12.3f}{s['knn_chance']:>10.3f}")
print(f"shared 5-NN, 2-D layouts: {neighbour_overlap(embedding_2d, attention_2d, k=5):.3f}")
print(f"shared 5-NN, 64-d vectors: {neighbour_overlap(item_vectors, attention_vectors, k=5):.3f}")
print(f"unrelated layouts would share about {5 / (len(tsne_items) - 1):.3f}")""",
    ),
    (
        "markdown",
        """## What the plots show
- **Fig. 3.** Whether the rows differ from one item (or user) to the next, and whether some
  dimensions stand out, is read from the heatmaps and the spread numbers above; this is what the
  paper describes. In the code-faithful model such variation does not come from learning the
  attention: the frozen random network maps the different inputs n([p_u; q_i; F_i]) to
  different outputs, and the softmax x 64 keeps them close to 1, inside the bounds printed
  above (far from the [0, 64] range the paper describes) however long the model trains.
- **Fig. 4.** The neighbour overlap measures how differently the two representations arrange
  the same items, and the silhouette / kNN rows whether either arranges them by category
  better than chance. With a frozen random attention network a difference between the panels
  shows that a(u, i) is a different (random, non-linear) view of (p_u, q_i, F_i), not that
  the model learned aspect-specific preferences.
- With `TFREC_NOTEBOOK_SMALL` set (the test suite) the model trains for 5 batches only, so the
  numbers and pictures are those of an almost untrained model.""",
    ),
]

IRIS = [
    (
        "markdown",
        """# Multimodal IRIS on the ML-1M sample: training and interest-relevance explanations

Lv et al., IEEE Access 2019 (spec `iris.md`). The model scores a target movie for a user from
the user's history: every history item gets an *interest relevance* (the attention of the
interest-related network over the item embeddings and the items' multimodal features, joined
by the knowledge-sharing unit), and the score is the relevance-weighted sum of item
similarities. The paper's Tables VII-IX explain recommendations by listing the history movies
ranked by that relevance; this notebook does the same with movie titles.

Data: the 10% ML-1M sample of the registry (`ml-1m-sample`) re-split with the IRIS protocol
(one random test and one random validation interaction per user, 99 sampled negatives).
Posters cannot be downloaded on the machines this was run on, so the two modalities are the
OMDb/MovieLens **metadata** (genres, director, writer, actors, rating class: TF-IDF + SVD) in
the visual tower and Doc2Vec vectors of the OMDb **plot** in the text tower.""",
    ),
    (
        "code",
        """import os
import tempfile

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.stats

from tfrec.data.registry import load_dataset
from tfrec.features.movie_features import iris_item_features
from tfrec.training import get_preset
from tfrec.training.history_experiment import run_history_experiment

SMALL = bool(os.environ.get("TFREC_NOTEBOOK_SMALL"))  # set by the test suite
print("Keras backend:", keras.backend.backend())""",
    ),
    (
        "code",
        """data = load_dataset("ml-1m-sample", split="leave-one-out-random")
print(data.summary())
# Built once (metadata TF-IDF + SVD, plot Doc2Vec), then read: the same store as `tfrec train`.
store = os.path.join(tempfile.mkdtemp(), "ml-1m-sample_features.h5")
features, towers = iris_item_features(data, store)  # metadata -> visual tower, plot -> text
print(towers)
titles = data.item_side.metadata["title"].reindex(data.item_keys).fillna("?").to_numpy()
genres = data.item_side.metadata["genres"].reindex(data.item_keys).fillna("").to_numpy()
""",
    ),
    (
        "markdown",
        """## Training
The `multimodal` preset (paper §IV.D: e = 16, Adam 0.001, batches of 512, four negatives per
positive, beta = 0.8) with the paper's early stopping on the validation interactions
(patience 3 on validation NDCG@10; the best epoch's weights are kept). Test metrics are
computed once, at the end.""",
    ),
    (
        "code",
        """preset = get_preset("iris", "multimodal").replace(epochs=1 if SMALL else 30)
if SMALL:
    preset = preset.replace(steps_per_epoch=5)
print(preset.source)
result = run_history_experiment(data, preset, seed=0, item_features=features, verbose=0)
model = result.model
print(result.evaluation)
print("early stopping:", result.config["early_stopping"])

figure, axes = plt.subplots(1, 2, figsize=(11, 3.5))
epochs = np.arange(1, len(result.history["loss"]) + 1)
axes[0].plot(epochs, result.history["loss"], marker="o")
axes[0].set(xlabel="epoch", ylabel="training log loss", title="loss")
axes[1].plot(epochs, 100 * np.array(result.history["val_ndcg@10"]), marker="o", label="NDCG@10")
axes[1].plot(epochs, 100 * np.array(result.history["val_hr@10"]), marker="o", label="HR@10")
axes[1].set(xlabel="epoch", ylabel="%", title="validation (1 + 99)")
axes[1].legend()
plt.tight_layout()""",
    ),
    (
        "markdown",
        """## Explanations (paper Tables VII-IX)
For a user and their held-out test movie: the history movies ranked by interest relevance
(`IRIS.rank_history`), with each movie's contribution to the score (relevance x similarity;
the score is the sum of contributions plus the target's bias). Three users with 20-60
training movies whose test movie the model ranks in its top 10.""",
    ),
    (
        "code",
        """train = data.train.tocsr()
test = data.test.tocsr()
scorer = model.sampled_scorer(train, max_history_length=299, clip="first")
users = data.test_users()
candidates = np.concatenate([test.indices[test.indptr[users]][:, None], data.test_negatives[users]], 1)
scores = scorer(users, candidates)
rank = (scores[:, 1:] >= scores[:, :1]).sum(1)
lengths = np.diff(train.indptr)[users]
chosen = users[(rank < 10) & (lengths >= 20) & (lengths <= 60)][:3]


def explanation(user, top_k=None):
    history = train[user].indices
    target = int(test[user].indices[0])
    mask = np.ones((1, history.size), bool)
    parts = model.explain(history[None, :], mask, np.array([target], np.int32))
    ranked = model.rank_history(history, target, top_k=top_k)
    position = {int(item): i for i, item in enumerate(history)}
    rows = [
        {
            "history movie": titles[item],
            "genres": genres[item],
            "relevance": weight,
            "contribution": float(parts["contributions"][0, position[item]]),
        }
        for item, weight in ranked
    ]
    return target, pd.DataFrame(rows)


for user in chosen:
    target, table = explanation(user)
    print(f"user {data.user_keys[user]}: test movie {titles[target]!r} ({genres[target]}), "
          f"{len(table)} history movies")
    display(pd.concat([table.head(5), table.tail(3)]).round(3))""",
    ),
    (
        "code",
        """if len(chosen):
    user = chosen[0]
    target, table = explanation(user)
    figure, axis = plt.subplots(figsize=(8, 0.28 * len(table) + 1))
    axis.barh(np.arange(len(table)), table["relevance"], color="tab:blue")
    axis.set_yticks(np.arange(len(table)), table["history movie"], fontsize=7)
    axis.invert_yaxis()
    axis.set(xlabel="interest relevance", title=f"target: {titles[target]}")
    plt.tight_layout()""",
    ),
    (
        "markdown",
        """## Do the relevances make sense?
One check that needs no poster: if the network picks out the history movies that relate to
the target, relevance should rise with genre overlap (Jaccard of the MovieLens genres of the
history movie and the target). For every test user with at least 10 history movies, the
Spearman correlation between relevance and genre overlap; the histogram shows them, and the
mean is compared with zero (a one-sample t-test over users).""",
    ),
    (
        "code",
        """genre_sets = [set(g.split("|")) if g else set() for g in genres]


def overlap(a, b):
    union = genre_sets[a] | genre_sets[b]
    return len(genre_sets[a] & genre_sets[b]) / len(union) if union else 0.0


correlations = []
for user in users[np.diff(train.indptr)[users] >= 10][: 200 if SMALL else 2000]:
    history = train[user].indices[:299]
    target = int(test[user].indices[0])
    weights = model.interest_relevance(history[None, :], np.ones((1, history.size), bool),
                                       np.array([target], np.int32))[0]
    similarity = np.array([overlap(item, target) for item in history])
    if similarity.std() > 0 and weights.std() > 0:
        correlations.append(scipy.stats.spearmanr(weights, similarity).statistic)
correlations = np.array(correlations)
test_result = scipy.stats.ttest_1samp(correlations, 0.0)
print(f"{len(correlations)} users: mean Spearman {correlations.mean():.3f} "
      f"(median {np.median(correlations):.3f}), t = {test_result.statistic:.2f}, "
      f"p = {test_result.pvalue:.2g}")
plt.figure(figsize=(6, 3))
plt.hist(correlations, bins=30)
plt.axvline(0.0, color="k", lw=0.8)
plt.xlabel("Spearman(relevance, genre overlap with the target) per user")
plt.ylabel("users")
plt.tight_layout()""",
    ),
    (
        "markdown",
        """## Reading the results
- The test metrics above are one seed; the tables with three seeds, FISM, NAIS and
  Image-add-Text IRIS at e = 16 and 64 are in the README (`benchmarks/reproduce_iris_tables.py`).
- The relevances are weights of a smoothed softmax (beta = 0.8), so they do not sum to one;
  what matters is their order within one user's history.
- The genre-overlap correlation is evidence about *what* the interest-related network
  attends to: a mean clearly above zero says it favours history movies of the target's kind,
  as the paper's Tables VII-IX suggest by example; a mean near zero would say the
  explanations are not about genre (they may still follow the plot text or the cast).
- With `TFREC_NOTEBOOK_SMALL` set (the test suite) the model trains for 5 batches only, so the
  numbers and pictures are those of an almost untrained model.""",
    ),
]

ACF = [
    (
        "markdown",
        """# ACF on Amazon Office: item- and component-level attention

Chen et al., SIGIR 2017 (spec `acf.md`). ACF represents a user as u + sum_l alpha(u, l) p_l
over their history, where alpha (item-level attention) looks at the user, the item's two
latent vectors and its content, and the content of an item is itself an attention-weighted
sum over its *components* (beta, component-level attention). The paper's components are
image regions (Pinterest) and video frames (Vine), which cannot be had here; this notebook
uses the words of each product's text (title, category, brand) as components (Word2Vec
vectors), on the Amazon Office 5-core data of the README's ACF table (`lrd-office`), and
shows the paper's Fig. 5 analysis: one user's history with item-level weights, and
component-level weights over the words of two of those products.""",
    ),
    (
        "code",
        """import os
import tempfile

import keras
import matplotlib.pyplot as plt
import numpy as np

from tfrec.data.registry import load_dataset
from tfrec.features.component_features import item_tokens
from tfrec.features.component_features import token_components
from tfrec.features.component_store import ComponentStore
from tfrec.features.component_store import write_components
from tfrec.sampling.acf_batches import history_inputs
from tfrec.sampling.user_histories import UserHistories
from tfrec.training import get_preset
from tfrec.training.acf_experiment import run_acf_experiment

SMALL = bool(os.environ.get("TFREC_NOTEBOOK_SMALL"))  # set by the test suite
print("Keras backend:", keras.backend.backend())""",
    ),
    (
        "markdown",
        """## Data and components
Leave-one-out by time (each user's latest rating is the test item), as the paper. Each
product's components are the Word2Vec vectors of the distinct words of its text (at most
64, in order of appearance); an item without text has none, so its content term is zero.""",
    ),
    (
        "code",
        """data = load_dataset("lrd-office", split="leave-one-out")
print(data.summary())
tokens, _ = item_tokens(data, "text")
vectors, record, words = token_components(
    tokens, dim=64, max_components=64, epochs=2 if SMALL else 20, return_tokens=True
)
store_path = os.path.join(tempfile.mkdtemp(), "office_words.h5")
write_components(store_path, vectors, dtype="float32", provenance=record)
components = ComponentStore(store_path, data.item_keys).load()
print(f"{record['vocabulary_size']:,} words; {record['mean_components']:.1f} components "
      f"per item on average; {int((components.counts == 0).sum())} items without any")
titles = np.array([data.item_side.text.get(key, "?")[:45] for key in data.item_keys])""",
    ),
    (
        "markdown",
        """## Training
The `acf/paper` preset: D = 128, BPR triples in batches of 256, plain SGD (lr 0.05,
lambda 1e-4: the paper grids both and does not report its choice), attention MLPs of
width 64, 30 epochs. Evaluation ranks every item (training items excluded), HR and NDCG
at 100 (the README's table runs the same preset over three seeds).""",
    ),
    (
        "code",
        """preset = get_preset("acf", "paper").replace(epochs=1 if SMALL else 30)
if SMALL:
    preset = preset.replace(steps_per_epoch=5)
result = run_acf_experiment(data, preset, components=components, seed=0, verbose=0)
model = result.model
print(result.evaluation)
plt.figure(figsize=(5, 3))
plt.plot(np.arange(1, len(result.history["loss"]) + 1), result.history["loss"], marker="o")
plt.xlabel("epoch")
plt.ylabel("BPR loss + L2 (sum per batch)")
plt.tight_layout()""",
    ),
    (
        "markdown",
        """## Fig. 5: item-level and component-level attention
A user with 10-20 training items: alpha over their history (left), and beta over the
words of the two items with the largest alpha (right: one row per item, one column per
word; rows sum to 1).""",
    ),
    (
        "code",
        """train = data.train.tocsr()
lengths = np.diff(train.indptr)
user = int(np.flatnonzero((lengths >= 10) & (lengths <= 20))[0])
inputs = history_inputs(UserHistories(train), np.array([user]), components)
alpha, beta = (keras.ops.convert_to_numpy(x) for x in model.attention(inputs, True))
history = inputs["history"][0][inputs["history_mask"][0]]
weights = alpha[0][: len(history)]
order = np.argsort(-weights)
figure, axes = plt.subplots(1, 2, figsize=(14, 0.3 * len(history) + 1.5),
                            gridspec_kw={"width_ratios": [1, 2]})
axes[0].barh(np.arange(len(history)), weights[order])
axes[0].set_yticks(np.arange(len(history)), titles[history[order]], fontsize=8)
axes[0].invert_yaxis()
axes[0].set(xlabel="alpha (item level)", title=f"user {data.user_keys[user]}")
top = order[:2]
width = max(1, max(len(words[data.item_keys[history[i]]]) for i in top))
grid = np.full((2, min(width, 20)), np.nan)
labels = []
for row, position in enumerate(top):
    item_words = words[data.item_keys[history[position]]][:20]
    grid[row, : len(item_words)] = beta[0, position, : len(item_words)]
    labels.append(titles[history[position]])
image = axes[1].imshow(grid, aspect="auto", cmap="viridis")
axes[1].set_yticks([0, 1], labels, fontsize=8)
for row, position in enumerate(top):
    for column, word in enumerate(words[data.item_keys[history[position]]][:20]):
        axes[1].text(column, row, word, rotation=90, ha="center", va="center", fontsize=7,
                     color="w")
axes[1].set(title="beta over the first 20 words (component level)")
figure.colorbar(image, ax=axes[1])
plt.tight_layout()""",
    ),
    (
        "markdown",
        """## Reading the plots
- The item weights alpha of one user sum to 1; with a near-uniform alpha the model is
  close to SVD++ (its AVG ablation). How far the trained weights are from 1/|R(i)| is the
  evidence that item-level attention is used; the reproduction tables (README) compare
  ACF, item-only attention and SVD++ with paired tests.
- beta is a softmax over one item's words, so 1/(number of words) is the uniform level.
- With `TFREC_NOTEBOOK_SMALL` set (the test suite) the model trains for 5 batches only, so
  the numbers and pictures are those of an almost untrained model.""",
    ),
]

MML = [
    (
        "markdown",
        """# MML: the learned item space by category

Magnetic metric learning (MML; spec `../shared/spec/mml.md`) on Amazon Sports & Outdoors
(`s3rec-sports`, the paper's Amazon set), with the `mml/paper` preset. The paper judges the
embedding space by how well spherical k-means of the item vectors recovers the item
categories (NMI, Tables 4-5). This notebook shows that space: a t-SNE map of the item
embeddings coloured by level-2 category, the NMI of the trained model against the untrained
one, the three learned metrics, and the adaptive margins.""",
    ),
    (
        "code",
        """import os

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.manifold import TSNE

from tfrec.data.registry import load_dataset
from tfrec.evaluation import nmi_spherical_kmeans
from tfrec.training import build_model
from tfrec.training import get_preset
from tfrec.training.experiment import run_experiment

SMALL = bool(os.environ.get("TFREC_NOTEBOOK_SMALL"))  # set by the test suite
print("Keras backend:", keras.backend.backend())""",
    ),
    (
        "code",
        """data = load_dataset("s3rec-sports")
print(data.summary())
labels, names = data.item_labels()
print(f"{int((labels >= 0).sum()):,} items with one of {len(names)} level-2 categories")""",
    ),
    (
        "markdown",
        """## Training
`mml/paper`: k = 32, AdaGrad (lr 0.05), batches of 512 positive pairs with one user-side and
one item-side negative each, similar-pair buffers at Jaccard > 0.3, adaptive margins and
the covariance penalty, 30 epochs (the paper's Fig. 11 peaks within about 30). The NMI of
the same architecture before training (its random initialisation) is the floor.""",
    ),
    (
        "code",
        """preset = get_preset("mml", "paper").replace(epochs=1 if SMALL else 30)
if SMALL:
    preset = preset.replace(steps_per_epoch=5)
untrained = build_model(preset, data.num_users, data.num_items, seed=0)
initial = keras.ops.convert_to_numpy(untrained.item_embedding.embeddings)
result = run_experiment(data, preset, seed=0, verbose=0)
model = result.model
items = keras.ops.convert_to_numpy(model.item_embedding.embeddings)
for k in (10, 20):
    before = nmi_spherical_kmeans(initial, labels, k)[0]
    print(f"NMI@{k}: trained {result.metrics[f'nmi@{k}']:.4f}, untrained {before:.4f}")
plt.figure(figsize=(5, 3))
plt.plot(np.arange(1, len(result.history["loss"]) + 1), result.history["loss"], marker="o")
plt.xlabel("epoch")
plt.ylabel("MML loss (Eq. 16)")
plt.tight_layout()""",
    ),
    (
        "markdown",
        """## The item space by category (t-SNE)
Items of the eight largest categories (at most 400 each), unit-normalised as for the
spherical k-means of the NMI protocol, mapped to 2-D with t-SNE (cosine distance).""",
    ),
    (
        "code",
        """rng = np.random.default_rng(0)
counts = np.bincount(labels[labels >= 0], minlength=len(names))
largest = np.argsort(-counts)[:8]
chosen = np.concatenate([
    rng.choice(np.flatnonzero(labels == c), min(60 if SMALL else 400, counts[c]), replace=False)
    for c in largest
])
unit = items[chosen] / np.linalg.norm(items[chosen], axis=1, keepdims=True)
points = TSNE(
    n_components=2, metric="cosine", init="pca", perplexity=30, random_state=0
).fit_transform(unit)
plt.figure(figsize=(8, 6))
for c in largest:
    mask = labels[chosen] == c
    plt.scatter(points[mask, 0], points[mask, 1], s=5, label=names[c])
plt.legend(markerscale=3, fontsize=7, loc="best")
plt.title("MML item embeddings, s3rec-sports (t-SNE)")
plt.xticks([])
plt.yticks([])
plt.tight_layout()""",
    ),
    (
        "markdown",
        """## The learned metrics and the adaptive margins
W = L L^T for the user-user (F^U), item-item (F^I) and user-item (F^UI) metrics: they start at
the identity; the off-diagonal structure is what training added. The margins start at 0.02
and are clipped to (0, 1].""",
    ),
    (
        "code",
        """metrics = {
    "W_U (user-user)": model.user_user_metric,
    "W_I (item-item)": model.item_item_metric,
    "W_UI (user-item)": model.user_item_metric,
}
figure, axes = plt.subplots(1, 4, figsize=(16, 3.6))
for axis, (title, metric) in zip(axes[:3], metrics.items(), strict=True):
    image = axis.imshow(keras.ops.convert_to_numpy(metric.matrix()), cmap="RdBu_r")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.046)
for name in ("user_margins", "item_margins", "relation_margins"):
    values = keras.ops.convert_to_numpy(getattr(model, name)).ravel()
    axes[3].hist(values, bins=50, histtype="step", label=name)
axes[3].set(xlabel="margin", yscale="log", title="adaptive margins")
axes[3].legend(fontsize=7)
plt.tight_layout()""",
    ),
    (
        "markdown",
        """## Reading the plots
- Category clusters in the t-SNE map are what NMI measures; the README's NMI tables compare
  MML with WRMF, CML, SML and the Table 8 ablations over three training seeds.
- With the paper's loss read literally, MML's item space shows no category structure: its
  NMI equals the untrained one, here as on Yelp (README, MML section). The dual hinges have
  two push terms each and go inactive within the first epoch
  (`benchmarks/mml_hinge_activity.py`), so the vectors stop moving.
- With `TFREC_NOTEBOOK_SMALL` set (the test suite) the model trains for 5 batches only, so
  the numbers and pictures are those of an almost untrained model.""",
    ),
]

NOTEBOOKS = {
    "quickstart.ipynb": QUICKSTART,
    "maml.ipynb": MAML,
    "iris.ipynb": IRIS,
    "acf.ipynb": ACF,
    "mml.ipynb": MML,
}


def _is_log_noise(text):
    lines = [line for line in text.splitlines() if line.strip()]
    markers = (
        "absl::InitializeLog",
        "oneDNN custom operations",
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

    # Names select notebooks (`python notebooks/make_notebooks.py maml.ipynb`): rewriting one
    # without `--execute` drops its saved outputs, so name only those to rewrite.
    names = [arg for arg in sys.argv[1:] if not arg.startswith("--")] or list(NOTEBOOKS)
    unknown = sorted(set(names) - set(NOTEBOOKS))
    if unknown:
        raise SystemExit(f"Unknown notebooks {unknown}. Expected names from {sorted(NOTEBOOKS)}.")
    for name in names:
        write(name, NOTEBOOKS[name], execute="--execute" in sys.argv)
