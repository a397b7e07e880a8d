"""MAML training throughput and full-ranking evaluation time: tfrec (TF, JAX) vs a TF1 peer.

    python benchmarks/maml_speed.py [--quick] [--seconds 24] [--repeats 3] [--eval-repeats 3]
        [--peer-eval-chunks 10] [--json PATH] [--train DIR/train.csv --test DIR/test.csv]
        [--only NAME ...] [--check-peer]

Setting of the issue: MAML as the authors' code runs it (spec maml.md §2-7), batch B = 5000,
W = 4 negatives, f = 64, MAML Office. One sample is one (user, positive, 4 negatives) row,
so samples/s = steps * B / seconds. Evaluation: Precision/Recall/NDCG/HR@10 of all 4,512
Office test users, every item scored through the attention network (spec §2.4).

Structure as `cml_throughput.py` (whose helpers it imports): every implementation runs in
its own subprocess (the Keras backend is fixed before Keras is imported); all are started
and warmed up first (graph building, XLA compilation, input pipeline, 2 x `--warmup-steps`
steps); then the timed training windows run in rounds, one window of each implementation
per round, `--repeats` rounds of `--seconds / --repeats` seconds per implementation
(median window reported). Then each implementation runs one untimed evaluation warm-up
(compilation), and the timed evaluation passes run in `--eval-repeats` interleaved rounds
(median reported). Interleaving keeps the ratios robust to the load of a shared machine
drifting during the run.

- `tfrec-tensorflow`: `tfrec.training.build_model(get_preset("maml", "code") + B, W,
  item_features=...)` (compiled with XLA), trained with `model.fit` on
  `tfrec.sampling.tf_dataset.make_tf_dataset(sampler)` as `tfrec.training.fit` does on the
  TensorFlow backend (tf.data running the numpy sampler in parallel map calls).
- `tfrec-jax`: the same model on the JAX backend, `model.fit` on
  `tfrec.sampling.SamplerDataset(sampler)` (a `keras.utils.PyDataset`), as `fit` does there.
  Both evaluate with `evaluate_full_ranking(model.score_users_numpy, data, ks=(10,))`: one
  call is one full pass over all test users (blocks of 1,024 users, compiled predict over
  item blocks).
- `tf1-peer`: MAML.py's training step and evaluation (liufancs/MAML a547be2, spec maml.md
  §2-7) re-expressed with `tf.compat.v1` in graph mode: static placeholders `[B, 2]` pairs
  and `[B, W]` negatives; the item features as graph constants and the fusion MLP
  4196 -> 256 -> 128 -> 128 -> 64 with its row normalisations recomputed in every
  `session.run`, as in the authors' graph; the attention network on n([p; q; F]) for the
  B + B * W rows in one batch; attention-weighted squared distances; the WARP-weighted
  closest-negative hinge summed over the batch; the feature loss over all items; the signed
  covariance sum; `tf.compat.v1.train.AdamOptimizer(1e-3)` with `var_list=[U, V]`; the two
  `clip_by_norm` assigns under a control dependency on the update; V <- F before the first
  step. Each step is `session.run((optimize, loss, feature_loss), feed_dict)` as the
  authors' loop; batches come from the same numpy `NegativeSampler` through a background
  thread and a queue (the authors used worker processes). Dense layers are written with
  `get_variable` + `matmul` (Glorot-uniform kernels, zero biases: TF1's `tf.layers.dense`
  defaults; `tf.compat.v1.layers` needs the legacy Keras). Evaluation as the authors'
  loop: chunks of 100 test users (`toolz.partition_all(100, ...)`), for each chunk the
  `[100 * n_items, 192]` attention input (tiled users, items and F), scores, `tf.nn.top_k`
  of K + max |R_u| (built once, not per call as their evaluator does), then their Python
  walk-down skipping training items and P/R/NDCG/HR@10 per user. One full peer pass takes
  minutes, so `--peer-eval-chunks` chunks of 100 users are timed one by one (after one
  untimed warm-up chunk) and the time of all 4,512 users is scaled linearly from the median
  chunk (median chunk x 4,512 / 100; every chunk does the same work, all chunk times are
  in the JSON). This is a PEER written from the spec, NOT the authors' file: it measures
  the architecture (TF1 graph + feed_dict + per-pair attention over tiled tensors), not
  their code. `--check-peer` loads the weights of a tfrec model into the peer and prints
  that both give the same F, training loss and top-10 lists (no timing).

The issue quotes the authors' code on these machines at about 19,000 samples/s for training
and about 150 s for one evaluation of all Office test users; those figures are printed as
references, labelled "quoted, not measured in this run".

Item features (the same `[n_items, 4196]` matrix for every implementation, built once by
the parent and passed to the children in a temporary .npy file): text = Doc2Vec PV-DM,
100 dims, seed 0, of the items' own text (`text_features_from_side_info`, as `tfrec train`
does without a feature store); image = 4096 dims of seeded random non-negative values
(`max(N(0, 1), 0)`, seed 0, mimicking post-ReLU fc7 activations): the authors' Caffe fc7
features are not available here, and speed does not depend on the values. With
`--train/--test` files that carry no item text, the text block is seeded random too (said
in the output).

`--quick` (about 2-3 minutes on 2 idle cores): 6 s of training per implementation in 2
windows, 3 warm-up steps, 1 evaluation pass, 2 peer chunks. Defaults: under 12 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _office import add_office_arguments
from _office import load_office
from cml_throughput import Child
from cml_throughput import machine_info
from cml_throughput import start_batch_thread
from cml_throughput import warm_up

QUOTED_AUTHORS_SAMPLES = 19_000.0
QUOTED_AUTHORS_EVAL_SECONDS = 150.0
IMPLEMENTATIONS = ("tfrec-tensorflow", "tfrec-jax", "tf1-peer")
DESCRIPTIONS = {
    "tfrec-tensorflow": ("tfrec MAML (code preset)", "TensorFlow (XLA, tf.data)"),
    "tfrec-jax": ("tfrec MAML (code preset)", "JAX (XLA, PyDataset)"),
    "tf1-peer": ("TF1 peer of MAML.py (not theirs)", "tf.compat.v1 graph, feed_dict"),
}
EMBEDDING_DIM = 64
HIDDEN_DIM = 256
MARGIN = 1.6
FEATURE_WEIGHT = 5.0
COVARIANCE_WEIGHT = 5.0
LEARNING_RATE = 1e-3
TEXT_DIM = 100
IMAGE_DIM = 4096
EVAL_CHUNK_USERS = 100  # The authors' `toolz.partition_all(100, test_users)`.
K = 10
QUICK = {
    "seconds": 6.0,
    "repeats": 2,
    "warmup_steps": 3,
    "eval_repeats": 1,
    "peer_eval_chunks": 2,
}


# ----------------------------------------------------------------------------- features
def build_features(data, path: str) -> dict:
    """Writes the `[n_items, 100 + 4096]` text + image matrix to `path`; returns how."""
    import numpy as np

    rng = np.random.default_rng(0)
    texts = data.item_side.text
    if texts and all(str(texts.get(key, "")).strip() for key in data.item_keys):
        from tfrec.features.item_features import text_features_from_side_info

        table, _ = text_features_from_side_info(texts, data.item_keys, dim=TEXT_DIM, seed=0)
        text = table.values
        text_note = f"Doc2Vec PV-DM {TEXT_DIM}-d of the item text (40 epochs, seed 0)"
    else:
        text = rng.standard_normal((data.num_items, TEXT_DIM)).astype(np.float32)
        text_note = f"seeded random N(0, 1) {TEXT_DIM}-d (the data has no item text)"
    image = np.maximum(rng.standard_normal((data.num_items, IMAGE_DIM)), 0).astype(np.float32)
    np.save(path, np.concatenate([text, image], axis=1).astype(np.float32))
    return {
        "text": text_note,
        "image": f"seeded random max(N(0, 1), 0) {IMAGE_DIM}-d (seed 0): the authors' Caffe "
        "fc7 features are not available here",
        "shape": [int(data.num_items), TEXT_DIM + IMAGE_DIM],
    }


# ----------------------------------------------------------------------------- tfrec
def prepare_tfrec(args):
    """`(train(steps), evaluate())` for tfrec's MAML on the current Keras backend."""
    import keras
    import numpy as np

    from tfrec.evaluation import evaluate_full_ranking
    from tfrec.training import build_model
    from tfrec.training import get_preset
    from tfrec.training import make_sampler

    data = load_office(args)
    preset = get_preset("maml", "code").replace(
        batch_size=args.batch_size, num_negatives=args.num_negatives
    )
    features = np.load(args.features)
    model = build_model(preset, data.num_users, data.num_items, seed=0, item_features=features)
    sampler = make_sampler(data, preset, seed=0)
    if keras.backend.backend() == "tensorflow":
        from tfrec.sampling.tf_dataset import make_tf_dataset

        dataset = make_tf_dataset(sampler)

        def train(steps):
            model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)

    else:
        from tfrec.sampling import SamplerDataset

        def train(steps):
            model.fit(
                SamplerDataset(sampler, steps_per_epoch=steps), epochs=1, verbose=0, shuffle=False
            )

    def evaluate():
        return evaluate_full_ranking(model.score_users_numpy, data, ks=(K,)).metrics

    return train, evaluate


# ----------------------------------------------------------------------------- TF1 peer
def dense(tf, inputs, units, name, activation=None):
    """`tf.layers.dense` with TF1's defaults (Glorot-uniform kernel, zero bias), reusable."""
    with tf.variable_scope(name, reuse=tf.AUTO_REUSE):
        kernel = tf.get_variable(
            "kernel", [int(inputs.shape[-1]), units], initializer=tf.glorot_uniform_initializer()
        )
        bias = tf.get_variable("bias", [units], initializer=tf.zeros_initializer())
    outputs = tf.nn.bias_add(tf.matmul(inputs, kernel), bias)
    return activation(outputs) if activation is not None else outputs


class TF1MAMLPeer:
    """The MAML.py graph (spec maml.md §2-7) in `tf.compat.v1`: training step and scores."""

    def __init__(self, tf, num_users, num_items, features, batch_size, width):
        self.tf = tf
        dim = EMBEDDING_DIM
        self.pairs = tf.placeholder(tf.int32, [batch_size, 2])
        self.negatives = tf.placeholder(tf.int32, [batch_size, width])
        self.score_user_ids = tf.placeholder(tf.int32, [None])
        self.top_count = tf.placeholder(tf.int32, [])
        self.user_table = tf.Variable(tf.random_normal([num_users, dim], stddev=1 / dim**0.5))
        self.item_table = tf.Variable(tf.random_normal([num_items, dim], stddev=1 / dim**0.5))
        # Constants in the graph, as the authors' `tf.constant(textualfeatures)` etc.
        text = tf.constant(features[:, :TEXT_DIM])
        image = tf.constant(features[:, TEXT_DIM:])
        # Fusion MLP (§2.1), recomputed in every session.run as in the authors' graph.
        normalize = tf.nn.l2_normalize
        hidden = dense(
            tf,
            normalize(tf.concat([text, image], 1), axis=1),
            HIDDEN_DIM,
            "mlp_layer_1",
            tf.nn.relu,
        )
        hidden = dense(tf, normalize(hidden, axis=1), HIDDEN_DIM // 2, "mlp_layer_2", tf.nn.relu)
        hidden = dense(tf, normalize(hidden, axis=1), HIDDEN_DIM // 2, "mlp_layer_3", tf.nn.relu)
        output = dense(tf, hidden, dim, "mlp_layer_4") * 1.0  # scaling factor 1.0
        self.projection = tf.clip_by_norm(output, 1.0, axes=[1])
        self.loss, self.feature_loss = self._loss(num_items, batch_size, width)
        update = tf.train.AdamOptimizer(LEARNING_RATE).minimize(
            self.loss, var_list=[self.user_table, self.item_table]
        )
        with tf.control_dependencies([update]):
            clip = [
                tf.assign(self.user_table, tf.clip_by_norm(self.user_table, 1.0, axes=[1])),
                tf.assign(self.item_table, tf.clip_by_norm(self.item_table, 1.0, axes=[1])),
            ]
        self.optimize = [update, clip]
        self.init_items = tf.assign(self.item_table, self.projection)
        self.top_items = self._top_items()

    def attention(self, inputs):
        """a = f * softmax(ReLU(B2 n(tanh(B1 n(c) + b1)) + b2)) for `[N, 3f]` rows c (§2.2)."""
        tf = self.tf
        normalize = tf.nn.l2_normalize
        hidden = dense(tf, normalize(inputs, axis=1), 5 * EMBEDDING_DIM, "hidden_layer", tf.tanh)
        hidden = dense(tf, normalize(hidden, axis=1), EMBEDDING_DIM, "hidden_layer1", tf.nn.relu)
        return EMBEDDING_DIM * tf.nn.softmax(hidden, axis=-1)

    def _loss(self, num_items, batch_size, width):
        tf, dim = self.tf, EMBEDDING_DIM
        lookup = tf.nn.embedding_lookup
        users = lookup(self.user_table, self.pairs[:, 0])
        positives = lookup(self.item_table, self.pairs[:, 1])
        negatives = lookup(self.item_table, self.negatives)
        positive_f = lookup(self.projection, self.pairs[:, 1])
        negative_f = lookup(self.projection, self.negatives)
        input_positive = tf.concat([users, positives, positive_f], 1)
        input_negative = tf.reshape(
            tf.concat([tf.tile(tf.expand_dims(users, 1), [1, width, 1]), negatives, negative_f], 2),
            [-1, dim * 3],
        )
        weights = self.attention(tf.concat([input_positive, input_negative], 0))
        weights_positive, weights_negative = tf.split(weights, [batch_size, batch_size * width])
        positive_distance = tf.reduce_sum(
            tf.squared_difference(weights_positive * users, weights_positive * positives), 1
        )
        weights_negative = tf.transpose(tf.reshape(weights_negative, [-1, width, dim]), [0, 2, 1])
        negative_distance = tf.reduce_sum(
            tf.squared_difference(
                weights_negative * tf.expand_dims(users, -1),
                weights_negative * tf.transpose(negatives, [0, 2, 1]),
            ),
            1,
        )
        closest = tf.reduce_min(negative_distance, 1)
        per_pair = tf.maximum(positive_distance - closest + MARGIN, 0)
        impostors = (tf.expand_dims(positive_distance, -1) - negative_distance + MARGIN) > 0
        rank = tf.reduce_mean(tf.cast(impostors, tf.float32), 1) * num_items
        per_pair *= tf.log(rank + 1)
        feature_loss = FEATURE_WEIGHT * tf.reduce_sum(
            tf.reduce_sum(tf.squared_difference(self.item_table, self.projection), 1)
        )
        rows = tf.concat((self.item_table, self.user_table), 0)
        rows = rows - tf.reduce_mean(rows, axis=0)
        covariance = tf.matmul(rows, rows, transpose_a=True) / tf.cast(
            tf.shape(rows)[0], tf.float32
        )
        covariance_loss = COVARIANCE_WEIGHT * tf.reduce_sum(
            tf.matrix_set_diag(covariance, tf.zeros(dim, tf.float32))
        )
        return tf.reduce_sum(per_pair) + feature_loss + covariance_loss, feature_loss

    def _top_items(self):
        """MAML.py `item_scores` (§2.4) + `tf.nn.top_k(scores, K + max |R_u|)`."""
        tf, dim = self.tf, EMBEDDING_DIM
        user = tf.expand_dims(tf.nn.embedding_lookup(self.user_table, self.score_user_ids), 1)
        count = tf.shape(user)[0]
        item = tf.tile(tf.expand_dims(self.item_table, 0), [count, 1, 1])
        feature = tf.tile(tf.expand_dims(self.projection, 0), [count, 1, 1])
        inputs = tf.concat(
            [
                tf.reshape(tf.tile(user, [1, tf.shape(item)[1], 1]), [-1, dim]),
                tf.reshape(item, [-1, dim]),
                tf.reshape(feature, [-1, dim]),
            ],
            1,
        )
        weights = tf.reshape(self.attention(inputs), [-1, tf.shape(item)[1], dim])
        scores = -tf.reduce_sum(tf.squared_difference(weights * user, weights * item), 2)
        return tf.nn.top_k(scores, self.top_count).indices


def peer_chunk_metrics(tops, chunk, train_sets, test_sets):
    """The authors' evaluator walk-down (evaluator.py `eval`): P/R/NDCG/HR@K per user."""
    import math

    rows = []
    for user, top in zip(chunk, tops, strict=True):
        train_set = train_sets.get(user, set())
        test_set = test_sets.get(user, set())
        idcg = sum(1 / (math.log(i + 2) / math.log(2)) for i in range(min(len(test_set), K)))
        ranked = hits = 0
        dcg = 0.0
        for item in top:
            if item in train_set:
                continue
            if item in test_set:
                dcg += 1 / (math.log(ranked + 2) / math.log(2))
                hits += 1
            ranked += 1
            if ranked == K:
                break
        rows.append((hits / len(test_set), dcg / idcg, float(hits > 0), hits / K))
    return rows


def prepare_tf1(args):
    """`(train(steps), evaluate_chunks(n))` for the TF1 peer."""
    import numpy as np
    import scipy.sparse as sp
    import tensorflow as tf

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    data = load_office(args)
    features = np.load(args.features)
    peer = TF1MAMLPeer(
        tf1, data.num_users, data.num_items, features, args.batch_size, args.num_negatives
    )
    batches = start_batch_thread(data, args)
    session = tf1.Session()
    session.run(tf1.global_variables_initializer())
    session.run(peer.init_items)  # V <- F (spec maml.md §6)
    fetches = (peer.optimize, peer.loss, peer.feature_loss)

    def train(steps):
        for _ in range(steps):
            pair_batch, negative_batch = batches.get()
            session.run(fetches, feed_dict={peer.pairs: pair_batch, peer.negatives: negative_batch})

    # RecallEvaluator.__init__ (untimed, built once in the authors' loop too).
    train_rows = sp.lil_matrix(data.train).rows
    test_rows = sp.lil_matrix(data.test).rows
    train_sets = {u: set(row) for u, row in enumerate(train_rows) if row}
    test_sets = {u: set(row) for u, row in enumerate(test_rows) if row}
    max_train_count = max(len(row) for row in train_rows)
    test_users = np.asarray(sorted(test_sets), dtype=np.int32)
    chunks = [
        test_users[start : start + EVAL_CHUNK_USERS]
        for start in range(0, len(test_users), EVAL_CHUNK_USERS)
    ]
    cursor = [0]

    def evaluate_chunks(count):
        """Times `count` chunks (the next ones in the authors' order, wrapping)."""
        seconds = []
        for _ in range(count):
            chunk = chunks[cursor[0] % len(chunks)]
            if len(chunk) < EVAL_CHUNK_USERS:  # the short last chunk: time full ones only
                cursor[0] += 1
                chunk = chunks[cursor[0] % len(chunks)]
            cursor[0] += 1
            started = time.perf_counter()
            tops = session.run(
                peer.top_items,
                {peer.score_user_ids: chunk, peer.top_count: K + max_train_count},
            )
            peer_chunk_metrics(tops, chunk, train_sets, test_sets)
            seconds.append(time.perf_counter() - started)
        return seconds

    return train, evaluate_chunks


def check_peer(args) -> None:
    """Same weights in tfrec's MAML (TensorFlow) and the peer: same F, loss and top-10."""
    import numpy as np
    import tensorflow as tf

    from tfrec.training import build_model
    from tfrec.training import get_preset
    from tfrec.training import make_sampler

    data = load_office(args)
    features = np.load(args.features)
    preset = get_preset("maml", "code").replace(batch_size=500, num_negatives=4)
    model = build_model(preset, data.num_users, data.num_items, seed=0, item_features=features)
    batch = next(iter(make_sampler(data, preset, seed=0)))
    inputs = {key: batch[key] for key in ("user", "positive", "negatives")}
    loss = float(model.compute_loss(y_pred=model(inputs)))
    users = np.arange(EVAL_CHUNK_USERS, dtype=np.int32)
    top = np.argsort(-model.score_users_numpy(users), axis=1, kind="stable")[:, :K]
    fusion, attention = model.fusion, model.attention
    layers = {
        "mlp_layer_1": fusion.layer_1,
        "mlp_layer_2": fusion.layer_2,
        "mlp_layer_3": fusion.layer_3,
        "mlp_layer_4": fusion.output_layer,
        "hidden_layer": attention.hidden,
        "hidden_layer1": attention.output_layer,
    }
    weights = {}
    for scope, layer in layers.items():
        weights[f"{scope}/kernel:0"] = layer.kernel.numpy()
        weights[f"{scope}/bias:0"] = layer.bias.numpy()
    tables = (model.user_embedding.embeddings.numpy(), model.item_embedding.embeddings.numpy())
    projection = model.item_projection.numpy()
    graph = tf.Graph()
    with graph.as_default():
        tf1 = tf.compat.v1
        peer = TF1MAMLPeer(tf1, data.num_users, data.num_items, features, 500, 4)
        session = tf1.Session(graph=graph)
        session.run(tf1.global_variables_initializer())
        variables = {variable.name: variable for variable in tf1.global_variables()}
        for name, value in weights.items():
            variables[name].load(value, session)
        peer.user_table.load(tables[0], session)
        peer.item_table.load(tables[1], session)
        pairs = np.stack([batch["user"], batch["positive"]], axis=1)
        peer_projection, peer_loss = session.run(
            (peer.projection, peer.loss), {peer.pairs: pairs, peer.negatives: batch["negatives"]}
        )
        peer_top = session.run(peer.top_items, {peer.score_user_ids: users, peer.top_count: K})
    print(
        f"peer check (same weights, B = 500): max |F_peer - F_tfrec| "
        f"{np.abs(peer_projection - projection).max():.2e}; loss tfrec {loss:.6g}, peer "
        f"{peer_loss:.6g} (relative difference {abs(peer_loss - loss) / abs(loss):.1e}); "
        f"top-{K} of {len(users)} users (unmasked) identical: {(peer_top == top).mean():.1%}"
    )


# ----------------------------------------------------------------------------- child
def child(args) -> None:
    """Warms up, says READY, then serves RUN / EVAL_WARMUP / EVAL lines from stdin."""
    if args.child.startswith("tfrec"):
        train, evaluate = prepare_tfrec(args)

        def evaluation_pass(count):
            seconds = []
            for _ in range(count):
                started = time.perf_counter()
                metrics = evaluate()
                seconds.append(time.perf_counter() - started)
            return {"seconds": seconds, "metrics": {k: float(v) for k, v in metrics.items()}}

    else:
        train, evaluate_chunks = prepare_tf1(args)

        def evaluation_pass(count):
            return {"chunk_seconds": evaluate_chunks(count)}

    per_step = warm_up(train, args.warmup_steps)
    print(f"READY {per_step}", flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] not in ("RUN", "EVAL_WARMUP", "EVAL"):
            break
        if command[0] == "RUN":
            started = time.perf_counter()
            train(int(command[1]))
            print(f"WINDOW {time.perf_counter() - started}", flush=True)
        elif command[0] == "EVAL_WARMUP":
            started = time.perf_counter()
            evaluation_pass(1)
            print(f"EVALWARM {time.perf_counter() - started}", flush=True)
        else:
            print(f"EVALRESULT {json.dumps(evaluation_pass(int(command[1])))}", flush=True)


class Worker(Child):
    """`cml_throughput.Child` with this script's command line and the EVAL requests."""

    script = __file__
    forwarded = ("train", "test", "features")

    def request(self, line: str, tag: str) -> str:
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            self.fail()
        return self._expect(tag)


# ----------------------------------------------------------------------------- driver
def measure(names: list[str], args, num_test_users: int) -> dict:
    """Warm-up, interleaved training windows, then interleaved evaluation passes."""
    workers = {}
    try:
        for name in names:
            print(f"starting {name} (warm-up) ...", flush=True)
            workers[name] = Worker(name, args)
        steps = {
            name: max(5, int(args.seconds / args.repeats / worker.seconds_per_step))
            for name, worker in workers.items()
        }
        windows = {name: [] for name in names}
        for round_index in range(args.repeats):
            for name, worker in workers.items():
                windows[name].append(worker.run(steps[name]))
            print(
                f"  training round {round_index + 1}/{args.repeats}: "
                + ", ".join(
                    f"{name} {steps[name] * args.batch_size / windows[name][-1]:,.0f}"
                    for name in names
                )
                + " samples/s",
                flush=True,
            )
        warmup_seconds = {}
        for name, worker in workers.items():
            print(f"evaluation warm-up of {name} ...", flush=True)
            warmup_seconds[name] = float(worker.request("EVAL_WARMUP", "EVALWARM"))
        evaluations = {name: [] for name in names}
        peer_chunks = split_evenly(args.peer_eval_chunks, args.eval_repeats)
        for round_index in range(args.eval_repeats):
            for name, worker in workers.items():
                count = peer_chunks[round_index] if name == "tf1-peer" else 1
                if count:
                    answer = json.loads(worker.request(f"EVAL {count}", "EVALRESULT"))
                    evaluations[name].append(answer)
            print(f"  evaluation round {round_index + 1}/{args.eval_repeats} done", flush=True)
    finally:
        for worker in workers.values():
            worker.close()
    results = {}
    for name in names:
        rates = [steps[name] * args.batch_size / seconds for seconds in windows[name]]
        rate = statistics.median(rates)
        training = {
            "steps_per_window": steps[name],
            "window_seconds": windows[name],
            "samples_per_second_windows": rates,
            "samples_per_second": rate,
            "ms_per_step": 1000 * args.batch_size / rate,
        }
        if name == "tf1-peer":
            chunk_seconds = [s for answer in evaluations[name] for s in answer["chunk_seconds"]]
            median_chunk = statistics.median(chunk_seconds)
            evaluation = {
                "method": f"{len(chunk_seconds)} chunks of {EVAL_CHUNK_USERS} users timed; "
                f"all {num_test_users} users = median chunk x {num_test_users} / "
                f"{EVAL_CHUNK_USERS} (scaled linearly, not a full pass)",
                "warmup_seconds": warmup_seconds[name],
                "chunk_seconds": chunk_seconds,
                "median_chunk_seconds": median_chunk,
                "seconds": median_chunk * num_test_users / EVAL_CHUNK_USERS,
            }
        else:
            passes = [s for answer in evaluations[name] for s in answer["seconds"]]
            evaluation = {
                "method": f"median of {len(passes)} full passes over {num_test_users} users",
                "warmup_seconds": warmup_seconds[name],
                "pass_seconds": passes,
                "seconds": statistics.median(passes),
                "metrics": evaluations[name][-1]["metrics"],
            }
        results[name] = {"training": training, "evaluation": evaluation}
    return results


def run_check_peer(args) -> None:
    """`check_peer` in a child process on the TensorFlow backend."""
    command = [sys.executable, os.path.abspath(__file__), "--child", "check-peer"]
    for key in ("train", "test", "features"):
        if getattr(args, key):
            command += [f"--{key}", str(getattr(args, key))]
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run(command, env=env, check=True)


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` split into `parts` counts that differ by at most one (earlier ones larger)."""
    return [total // parts + (index < total % parts) for index in range(parts)]


def print_table(results: dict, args, machine: dict, load: tuple, features: dict, users: int):
    peer = results.get("tf1-peer")
    peer_rate = peer["training"]["samples_per_second"] if peer else None
    peer_eval = peer["evaluation"]["seconds"] if peer else None
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    print()
    print(f"command: {shlex.join(['python'] + sys.argv)}")
    print(
        f"machine: {machine['cpu_model']} ({machine['machine']}), nproc {machine['nproc']}; "
        f"load average {load[0][0]:.2f} before, {load[1][0]:.2f} after"
    )
    print(f"software: {versions}")
    print(
        f"item features {features['shape'][1]}-d: text = {features['text']}; image = "
        f"{features['image']}"
    )
    print(
        f"MAML (authors' code setting) on MAML Office, B = {args.batch_size}, "
        f"W = {args.num_negatives}, f = {EMBEDDING_DIM}; training: median of {args.repeats} "
        f"interleaved windows after warm-up; evaluation: all {users:,} test users, K = {K}"
    )
    header = (
        f"{'implementation':<34}{'backend':<31}{'samples/s':>10}{'x peer':>8}"
        f"{'x 19k (q)':>10}{'eval s':>9}{'peer/this':>10}{'150 s (q)/this':>15}"
    )
    print(header)
    print("-" * len(header))
    for name, result in results.items():
        label, backend = DESCRIPTIONS[name]
        rate = result["training"]["samples_per_second"]
        seconds = result["evaluation"]["seconds"]
        rate_vs_peer = f"{rate / peer_rate:.2f}" if peer_rate else "-"
        eval_vs_peer = f"{peer_eval / seconds:.1f}" if peer_eval else "-"
        print(
            f"{label:<34}{backend:<31}{rate:>10,.0f}{rate_vs_peer:>8}"
            f"{rate / QUOTED_AUTHORS_SAMPLES:>10.2f}{seconds:>9.2f}{eval_vs_peer:>10}"
            f"{QUOTED_AUTHORS_EVAL_SECONDS / seconds:>15.1f}"
        )
    print(
        f"x 19k (q): samples/s / {QUOTED_AUTHORS_SAMPLES:,.0f}, and 150 s (q)/this: "
        f"{QUOTED_AUTHORS_EVAL_SECONDS:.0f} s / eval s -- the authors' MAML code as the issue "
        "quotes it on these machines (quoted, not measured in this run). peer/this: how many "
        "times faster than the TF1 peer's evaluation."
    )
    for name, result in results.items():
        print(f"eval {name}: {result['evaluation']['method']}")
    if peer:
        chunks = ", ".join(f"{s:.2f}" for s in peer["evaluation"]["chunk_seconds"])
        print(f"TF1 peer per-chunk evaluation seconds ({EVAL_CHUNK_USERS} users each): {chunks}")
        print(
            "TF1 peer: MAML.py's training step and evaluation re-expressed from the spec with "
            "tf.compat.v1 (graph + feed_dict); a peer of the authors' code, not their code."
        )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_office_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--num-negatives", type=int, default=4)
    parser.add_argument(
        "--seconds", type=float, default=24.0, help="timed training seconds per implementation"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="training windows per implementation (median)"
    )
    parser.add_argument("--warmup-steps", type=int, default=20)
    parser.add_argument(
        "--eval-repeats", type=int, default=3, help="timed evaluation passes of tfrec (median)"
    )
    parser.add_argument(
        "--peer-eval-chunks",
        type=int,
        default=10,
        help="chunks of 100 users timed for the peer (scaled to all test users)",
    )
    parser.add_argument("--quick", action="store_true", help=f"a short run: {QUICK}")
    parser.add_argument(
        "--only", nargs="+", choices=IMPLEMENTATIONS, help="run only these implementations"
    )
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument(
        "--check-peer",
        action="store_true",
        help="only check that the peer computes tfrec's F, loss and top-10 (same weights)",
    )
    parser.add_argument(
        "--child", choices=IMPLEMENTATIONS + ("check-peer",), help=argparse.SUPPRESS
    )
    parser.add_argument("--features", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if min(args.repeats, args.warmup_steps, args.eval_repeats, args.peer_eval_chunks) < 1:
        parser.error("--repeats, --warmup-steps, --eval-repeats, --peer-eval-chunks must be >= 1")
    if args.seconds <= 0:
        parser.error("--seconds must be > 0")
    if args.child == "check-peer":
        return check_peer(args)
    if args.child:
        return child(args)

    names = args.only or list(IMPLEMENTATIONS)
    machine = machine_info()
    load_before = os.getloadavg()
    started = time.perf_counter()
    data = load_office(args)
    num_test_users = len(data.test_users())
    with tempfile.TemporaryDirectory() as folder:
        args.features = os.path.join(folder, "item_features.npy")
        print("building item features (Doc2Vec text + random image) ...", flush=True)
        features = build_features(data, args.features)
        if args.check_peer:
            return run_check_peer(args)
        results = measure(names, args, num_test_users)
    load = (load_before, os.getloadavg())
    print_table(results, args, machine, load, features, num_test_users)
    print(f"total wall time {time.perf_counter() - started:.0f} s")
    if args.json:
        payload = {
            "command": shlex.join(["python"] + sys.argv),
            "machine": machine,
            "load_average_before": load_before,
            "load_average_after": load[1],
            "quoted_authors_samples_per_second": QUOTED_AUTHORS_SAMPLES,
            "quoted_authors_eval_seconds": QUOTED_AUTHORS_EVAL_SECONDS,
            "quoted_authors_note": "quoted from the issue, not measured in this run",
            "setting": {
                "batch_size": args.batch_size,
                "num_negatives": args.num_negatives,
                "embedding_dim": EMBEDDING_DIM,
                "repeats": args.repeats,
                "seconds_per_implementation": args.seconds,
                "warmup_steps": args.warmup_steps,
                "eval_repeats": args.eval_repeats,
                "peer_eval_chunks": args.peer_eval_chunks,
                "num_test_users": num_test_users,
                "k": K,
            },
            "item_features": features,
            "results": results,
        }
        peer = results.get("tf1-peer")
        for result in results.values():
            rate = result["training"]["samples_per_second"]
            seconds = result["evaluation"]["seconds"]
            result["training"]["ratio_vs_tf1_peer"] = (
                rate / peer["training"]["samples_per_second"] if peer else None
            )
            result["training"]["ratio_vs_quoted_authors"] = rate / QUOTED_AUTHORS_SAMPLES
            result["evaluation"]["speedup_vs_tf1_peer"] = (
                peer["evaluation"]["seconds"] / seconds if peer else None
            )
            result["evaluation"]["speedup_vs_quoted_authors"] = (
                QUOTED_AUTHORS_EVAL_SECONDS / seconds
            )
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as handle:
            json.dump(payload, handle, indent=2)


if __name__ == "__main__":
    main()
