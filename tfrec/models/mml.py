"""MML: magnetic metric learning (dual triplets, latent relations, adaptive margins)."""

from __future__ import annotations

import math

import keras
from keras import ops

from tfrec.layers.covariance_regularizer import COVARIANCE_FORMS
from tfrec.layers.covariance_regularizer import COVARIANCE_ROWS
from tfrec.layers.covariance_regularizer import CovarianceRegularizer
from tfrec.layers.learned_metric import DIAGONAL_TRANSFORMS
from tfrec.layers.learned_metric import PARAMETERIZATIONS
from tfrec.layers.learned_metric import LearnedMetric
from tfrec.layers.warp_weight import RANK_WEIGHTS
from tfrec.layers.warp_weight import WarpWeight
from tfrec.models.embedding_model import EmbeddingModel

NEGATIVE_PICKS = ("paper_max_distance", "closest")
MARGIN_REGULARIZERS = ("paper_full_mean", "sml_batch_mean")
RELATION_SIDES = ("both", "users", "items")
INITIALIZATIONS = ("paper_uniform", "normal")
PUSH_TERMS = ("paper_sum", "mean", "separate")

# The ablations of paper Table 8, as constructor overrides of the full model.
MML_VARIANTS = {
    "MML": {},
    "EUC-MML": {"metric": "euclidean"},  # W_U = W_I = W_UI = I
    "W-MML": {"shared_metric": True},  # one W for all three relations
    "M-MML": {"adaptive_margins": False},  # margins fixed at `initial_margin`, no L_R
    "NP-MML": {"covariance_weight": 0.0},  # omega_P = 0
    "NR-MML": {"margin_weight": 0.0},  # omega_R = 0 (margins still trained by the hinges)
}

_USER_BATCH_KEYS = ("similar_users", "dissimilar_users", "has_similar_user")
_ITEM_BATCH_KEYS = ("similar_items", "dissimilar_items", "has_similar_item")


@keras.saving.register_keras_serializable(package="tfrec")
class MarginClip(keras.constraints.Constraint):
    """Clips margins to `[floor, 1]` after each step (MML Eq. 16: margins in (0, 1]; SML's
    code clips to [0, 1]: floor 0)."""

    rowwise = True  # acts on each entry alone (see tfrec.training.optimizers._SparseRows)

    def __init__(self, floor: float = 1e-6):
        self.floor = float(floor)

    def __call__(self, w):
        return ops.clip(w, self.floor, 1.0)

    def get_config(self):
        return {"floor": self.floor}


@keras.saving.register_keras_serializable(package="tfrec")
class MML(EmbeddingModel):
    """Magnetic metric learning (MML; spec mml.md, paper Eqs. 4-16).

    Users and items share one k-dim space with three learned PSD metrics
    (`LearnedMetric`): F^U (user-user), F^I (item-item) and F^UI (user-item). A batch from
    `tfrec.sampling.DualTripletSampler` holds, per positive pair (a, c), W negative users b
    and W negative items d, and optionally one similar (f) and one dissimilar (g) entity for
    the anchors a and c. The loss (all sums over the batch):

    - Eq. 7: `l1 = t * [mr_u[a] + F^UI(a,c) - F^U(a,b) - F^UI(b,c)]_+`
    - Eq. 8: `l2 = t * [mr_i[c] + F^UI(a,c) - F^I(c,d) - F^UI(a,d)]_+`
    - `push_terms` [INFER] reads the two push distances of Eqs. 7-8 otherwise: `"mean"`
      (`[mr + F^UI(a,c) - (F^U(a,b) + F^UI(b,c)) / 2]_+`, the push on the pull's scale) or
      `"separate"` (`[mr + F^UI(a,c) - F^U(a,b)]_+ + [mr + F^UI(a,c) - F^UI(b,c)]_+`, each
      with its own WARP weight; l2 likewise). Read literally (`"paper_sum"`, default) a
      hinge compares one distance with the sum of two, and is inactive whenever the pull
      is below the push terms' sum minus the margin: on hin-yelp from the first epoch on
      (`benchmarks/mml_hinge_activity.py`), so the literal model does not learn.
    - Eq. 9: `L_EX = lambda * sum l1 + (1 - lambda) * sum l2` (`dual_balance` = lambda)
    - Eq. 11: `l3 = t * has_similar * [mr_l[x] + F(x,f) - F(x,g)]_+` for user anchors (F^U,
      mr_l[a]) and item anchors (F^I, mr_l[num_users + c]); `L_LA` = their sum.
    - Eq. 12: `L_MML = alpha * L_EX + (1 - alpha) * L_LA` (`explicit_weight` = alpha)
    - Eq. 16: `L_MML + omega_P * L_P + omega_R * L_R`, with the covariance penalty L_P
      (Eq. 14) and `L_R = -(mean mr_u + mean mr_i + mean mr_l)` (Eq. 15).

    `t` is CML's WARP weight `ln(1 + J * violators / W)` (stop-gradient; J = the number of
    users for user negatives/anchors, items for item ones); with the paper's single negative
    it is `ln(1 + J)` for every active hinge. With W > 1 candidates one push sum per triplet
    enters the hinge, picked by `negative_pick`. Rows of E_U and E_I are clipped to the unit
    ball and margins to `[margin_floor, 1]` after every step. Recommendation scores are
    `-F^UI(u, i)`.

    Ablations (paper Table 8) are one constructor argument each, collected in
    `MML_VARIANTS`; `MML.from_variant("W-MML", num_users, num_items)` builds one.

    Args:
        num_users, num_items: sizes of the id spaces (m, n).
        embedding_dim: k (paper: 32).
        metric: `LearnedMetric` parameterization: `"full"` (W = L L^T, L = I at start;
            [INFER]), `"diagonal"` or `"euclidean"` (EUC-MML).
        shared_metric: one metric for all three relations (W-MML).
        adaptive_margins: train the margins (MML) or keep them at `initial_margin` with no
            L_R (M-MML).
        initial_margin: start value of every margin (paper: 0.02).
        dual_balance: lambda of Eq. 9 (paper: 0.5).
        explicit_weight: alpha of Eq. 12 (paper: 0.7). 1 drops L_LA (no similar pairs needed).
        covariance_weight: omega_P (paper: omega = 0.03; 0 = NP-MML).
        covariance_form: `"paper_literal"` (Eq. 14 as printed; [INFER] default),
            `"squared_offdiag"` or `"code_signed_offdiag_sum"` (CML code).
        covariance_rows: `"all"` rows of E_I and E_U every step ([INFER], as CML code) or
            `"batch"` (the anchor user and positive item rows of the batch).
        margin_weight: omega_R (paper: omega = 0.03; 0 = NR-MML).
        margin_regularizer: `"paper_full_mean"` (Eq. 15, means over the full margin vectors)
            or `"sml_batch_mean"` (means over the margins the batch gathers, SML code).
        rank_weight: `"warp_parallel"` (default), `"warp_floor"` or `"none"`.
        negative_pick: with W > 1 candidates, keep the one of largest push sum
            (`"paper_max_distance"`, paper §3.6 read literally) or smallest (`"closest"`,
            CML's rule).
        push_terms: `"paper_sum"` (Eqs. 7-8 as printed), `"mean"` or `"separate"` [INFER;
            see above].
        relation_sides: anchors of L_LA: `"both"` ([INFER], Algorithm 1), `"users"`,
            `"items"`.
        initialization: `"paper_uniform"` (U(0.2 - sqrt(0.12), 0.2 + sqrt(0.12)): mean 0.2,
            variance 0.04; rows start outside the ball and are clipped after step 1) or
            `"normal"` (N(0, 1/k), as CML).
        clip_norm: radius of the ball every row is clipped to.
        margin_floor: lower clip of the margins (epsilon of (0, 1]).
        diagonal_transform: `"softplus"` or `"square"` for `metric="diagonal"`.

    Example:
    >>> model = MML(num_users=100, num_items=50)
    >>> model.compile(optimizer=make_optimizer("adagrad", 0.05))
    >>> model.fit(SamplerDataset(DualTripletSampler(train, ...)), epochs=30)
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 32,
        metric: str = "full",
        shared_metric: bool = False,
        adaptive_margins: bool = True,
        initial_margin: float = 0.02,
        dual_balance: float = 0.5,
        explicit_weight: float = 0.7,
        covariance_weight: float = 0.03,
        covariance_form: str = "paper_literal",
        covariance_rows: str = "all",
        margin_weight: float = 0.03,
        margin_regularizer: str = "paper_full_mean",
        rank_weight: str = "warp_parallel",
        negative_pick: str = "paper_max_distance",
        push_terms: str = "paper_sum",
        relation_sides: str = "both",
        initialization: str = "paper_uniform",
        clip_norm: float = 1.0,
        margin_floor: float = 1e-6,
        diagonal_transform: str = "softplus",
        **kwargs,
    ):
        super().__init__(num_users, num_items, embedding_dim, **kwargs)
        for name, value, allowed in (
            ("metric", metric, PARAMETERIZATIONS),
            ("covariance_form", covariance_form, COVARIANCE_FORMS),
            ("covariance_rows", covariance_rows, COVARIANCE_ROWS),
            ("margin_regularizer", margin_regularizer, MARGIN_REGULARIZERS),
            ("rank_weight", rank_weight, RANK_WEIGHTS),
            ("negative_pick", negative_pick, NEGATIVE_PICKS),
            ("push_terms", push_terms, PUSH_TERMS),
            ("relation_sides", relation_sides, RELATION_SIDES),
            ("initialization", initialization, INITIALIZATIONS),
            ("diagonal_transform", diagonal_transform, DIAGONAL_TRANSFORMS),
        ):
            if value not in allowed:
                raise ValueError(f"Received: `{name}={value!r}`. Expected one of {allowed}.")
        for name, value in (("dual_balance", dual_balance), ("explicit_weight", explicit_weight)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"Received: `{name}={value!r}`. Expected a number in [0, 1].")
        if not 0.0 < float(margin_floor) <= float(initial_margin) <= 1.0:
            raise ValueError(
                f"Received: `initial_margin={initial_margin!r}`, `margin_floor="
                f"{margin_floor!r}`. Expected 0 < margin_floor <= initial_margin <= 1."
            )
        self.metric = metric
        self.shared_metric = bool(shared_metric)
        self.adaptive_margins = bool(adaptive_margins)
        self.initial_margin = float(initial_margin)
        self.dual_balance = float(dual_balance)
        self.explicit_weight = float(explicit_weight)
        self.covariance_weight = float(covariance_weight)
        self.covariance_form = covariance_form
        self.covariance_rows = covariance_rows
        self.margin_weight = float(margin_weight)
        self.margin_regularizer = margin_regularizer
        self.rank_weight = rank_weight
        self.negative_pick = negative_pick
        self.push_terms = push_terms
        self.relation_sides = relation_sides
        self.initialization = initialization
        self.clip_norm = float(clip_norm)
        self.margin_floor = float(margin_floor)
        self.diagonal_transform = diagonal_transform

        def initializer():
            if initialization == "paper_uniform":
                half_width = math.sqrt(3.0 * 0.04)  # variance (2h)^2 / 12 = 0.04
                return keras.initializers.RandomUniform(0.2 - half_width, 0.2 + half_width)
            return keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(self.embedding_dim))

        self.add_unit_ball_tables(initializer, clip_norm)

        def learned_metric(name):
            return LearnedMetric(self.embedding_dim, metric, diagonal_transform, name=name)

        # A shared metric is tracked once (as `user_item_metric`), so its weights are
        # neither duplicated in `model.weights` nor updated twice.
        self.user_item_metric = learned_metric("user_item_metric")
        self.user_metric = None if self.shared_metric else learned_metric("user_metric")
        self.item_metric = None if self.shared_metric else learned_metric("item_metric")

        def margins(size, name):
            return self.add_weight(
                shape=(size,),
                initializer=keras.initializers.Constant(self.initial_margin),
                constraint=MarginClip(self.margin_floor),
                trainable=self.adaptive_margins,
                name=name,
            )

        self.user_margins = margins(self.num_users, "user_margins")  # mr^u, Eq. 7
        self.item_margins = margins(self.num_items, "item_margins")  # mr^i, Eq. 8
        self.relation_margins = margins(self.num_users + self.num_items, "relation_margins")
        self.user_rank_weight = WarpWeight(self.num_users, 0.0, rank_weight, name="user_rank")
        self.item_rank_weight = WarpWeight(self.num_items, 0.0, rank_weight, name="item_rank")
        self.covariance = CovarianceRegularizer(1.0, covariance_form)  # omega_P applied in loss
        self.build()

    @classmethod
    def from_variant(cls, variant: str, num_users: int, num_items: int, **kwargs) -> MML:
        """The paper's model (`"MML"`) or one of its Table 8 ablations (`MML_VARIANTS`)."""
        if variant not in MML_VARIANTS:
            raise ValueError(
                f"Received: `variant={variant!r}`. Expected one of {sorted(MML_VARIANTS)}."
            )
        overrides = MML_VARIANTS[variant]
        clash = sorted(set(overrides) & set(kwargs))
        if clash:
            raise ValueError(
                f"Received: {clash} together with `variant={variant!r}`, which sets them. "
                "Pass either the variant or the individual arguments."
            )
        return cls(num_users, num_items, **overrides, **kwargs)

    # ----------------------------------------------------------------- metrics
    @property
    def user_user_metric(self) -> LearnedMetric:
        """F^U (the shared metric under `shared_metric=True`)."""
        return self.user_item_metric if self.user_metric is None else self.user_metric

    @property
    def item_item_metric(self) -> LearnedMetric:
        """F^I (the shared metric under `shared_metric=True`)."""
        return self.user_item_metric if self.item_metric is None else self.item_metric

    # ----------------------------------------------------------------- scoring
    def score_candidates(self, user_ids, item_ids):
        users = ops.expand_dims(self.user_embedding(user_ids), -2)
        return -self.user_item_metric(users, self.item_embedding(item_ids))

    def score_users(self, user_ids):
        users = self.user_embedding(user_ids)
        return -self.user_item_metric.pairwise(users, self.item_embedding.embeddings)

    # ----------------------------------------------------------------- loss
    def loss_terms(self, x) -> dict:
        """The unweighted terms of Eq. 16 for batch `x`: `l1`, `l2` (`[B]`), `l3_users`,
        `l3_items` (`[B]`, zeros when not used), `covariance` (L_P before omega_P) and
        `margin` (L_R before omega_R)."""
        if "negative_users" not in x:
            raise ValueError(
                f"MML needs `negative_users` in the batch; received keys {sorted(x)}. Use "
                "`tfrec.sampling.DualTripletSampler`."
            )
        user_ids, item_ids = x["user"], x["positive"]
        users = self.user_embedding(user_ids)  # e_a [B, k]
        items = self.item_embedding(item_ids)  # e_c [B, k]
        negative_users = self.user_embedding(x["negative_users"])  # e_b [B, W, k]
        negative_items = self.item_embedding(x["negatives"])  # e_d [B, W, k]
        f_ui, f_u, f_i = self.user_item_metric, self.user_user_metric, self.item_item_metric
        pull = f_ui(users, items)
        user_margins = ops.take(self.user_margins, user_ids, axis=0)
        item_margins = ops.take(self.item_margins, item_ids, axis=0)
        terms = {
            "l1": self._dual_hinge(
                pull,
                f_u(users[:, None, :], negative_users),
                f_ui(negative_users, items[:, None]),
                user_margins,
                self.user_rank_weight,
            ),
            "l2": self._dual_hinge(
                pull,
                f_i(items[:, None, :], negative_items),
                f_ui(users[:, None], negative_items),
                item_margins,
                self.item_rank_weight,
            ),
        }
        zeros = ops.zeros_like(pull)
        terms["l3_users"], terms["l3_items"] = zeros, zeros
        gathered_relation_margins = []
        if self.explicit_weight < 1.0 and self.relation_sides in ("both", "users"):
            self._check_keys(x, _USER_BATCH_KEYS)
            margins = ops.take(self.relation_margins, user_ids, axis=0)
            has_similar = ops.cast(x["has_similar_user"], pull.dtype)
            terms["l3_users"] = has_similar * self._relation_hinge(
                users,
                self.user_embedding(x["similar_users"]),
                self.user_embedding(x["dissimilar_users"]),
                margins,
                f_u,
                self.user_rank_weight,
            )
            gathered_relation_margins.append(margins)
        if self.explicit_weight < 1.0 and self.relation_sides in ("both", "items"):
            self._check_keys(x, _ITEM_BATCH_KEYS)
            margins = ops.take(self.relation_margins, item_ids + self.num_users, axis=0)
            has_similar = ops.cast(x["has_similar_item"], pull.dtype)
            terms["l3_items"] = has_similar * self._relation_hinge(
                items,
                self.item_embedding(x["similar_items"]),
                self.item_embedding(x["dissimilar_items"]),
                margins,
                f_i,
                self.item_rank_weight,
            )
            gathered_relation_margins.append(margins)

        if self.covariance_rows == "all":
            # As CML's code: every item row then every user row, every step.
            rows = ops.concatenate(
                [self.item_embedding.embeddings, self.user_embedding.embeddings], axis=0
            )
        else:
            rows = ops.concatenate([items, users], axis=0)
        # L_P is only formed when it counts (NP-MML skips the k x k covariance).
        terms["covariance"] = self.covariance(rows) if self.covariance_weight else 0.0

        if self.margin_regularizer == "paper_full_mean":
            margin_means = [
                ops.mean(self.user_margins),
                ops.mean(self.item_margins),
                ops.mean(self.relation_margins),
            ]
        else:
            margin_means = [ops.mean(user_margins), ops.mean(item_margins)]
            if gathered_relation_margins:
                margin_means.append(ops.mean(ops.concatenate(gathered_relation_margins)))
        terms["margin"] = -sum(margin_means[1:], margin_means[0])
        return terms

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        terms = self.loss_terms(x)
        balance = self.dual_balance
        explicit = balance * ops.sum(terms["l1"]) + (1.0 - balance) * ops.sum(terms["l2"])
        loss = self.explicit_weight * explicit
        if self.explicit_weight < 1.0:
            latent = ops.sum(terms["l3_users"]) + ops.sum(terms["l3_items"])
            loss = loss + (1.0 - self.explicit_weight) * latent
        if self.covariance_weight:
            loss = loss + self.covariance_weight * terms["covariance"]
        if self.adaptive_margins and self.margin_weight:
            loss = loss + self.margin_weight * terms["margin"]
        return self.with_added_losses(loss)

    def _dual_hinge(self, pull, entity_push, cross_push, margins, rank_weight):
        """Eq. 7 (or 8) for `[B]` pulls and the `[B, W]` push terms F^U(a,b) (or F^I(c,d))
        and F^UI(b,c) (or F^UI(a,d)), combined as `push_terms` says."""
        if self.push_terms == "separate":
            return self._hinge(pull, entity_push, margins, rank_weight) + self._hinge(
                pull, cross_push, margins, rank_weight
            )
        pushes = entity_push + cross_push
        if self.push_terms == "mean":
            pushes = 0.5 * pushes
        return self._hinge(pull, pushes, margins, rank_weight)

    def _hinge(self, pull, pushes, margins, rank_weight):
        """Eqs. 7-8 for `[B]` pulls and `[B, W]` push sums: one hinge per pair."""
        weights = rank_weight(pull + margins, pushes)
        if self.negative_pick == "closest":
            push = ops.min(pushes, axis=-1)
        else:
            push = ops.max(pushes, axis=-1)
        return weights * ops.relu(margins + pull - push)

    def _relation_hinge(self, anchors, similar, dissimilar, margins, metric, rank_weight):
        """Eq. 11 for one side: `t * [mr + F(x, f) - F(x, g)]_+`."""
        near = metric(anchors, similar)
        far = metric(anchors, dissimilar)
        return self._hinge(near, far[:, None], margins, rank_weight)

    @staticmethod
    def _check_keys(x, keys):
        missing = [key for key in keys if key not in x]
        if missing:
            raise ValueError(
                f"MML's latent-relation loss needs {missing} in the batch; received keys "
                f"{sorted(x)}. Give `DualTripletSampler` the similar-pair buffers, or set "
                "`explicit_weight=1.0` (or `relation_sides`) to drop those terms."
            )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "metric": self.metric,
                "shared_metric": self.shared_metric,
                "adaptive_margins": self.adaptive_margins,
                "initial_margin": self.initial_margin,
                "dual_balance": self.dual_balance,
                "explicit_weight": self.explicit_weight,
                "covariance_weight": self.covariance_weight,
                "covariance_form": self.covariance_form,
                "covariance_rows": self.covariance_rows,
                "margin_weight": self.margin_weight,
                "margin_regularizer": self.margin_regularizer,
                "rank_weight": self.rank_weight,
                "negative_pick": self.negative_pick,
                "push_terms": self.push_terms,
                "relation_sides": self.relation_sides,
                "initialization": self.initialization,
                "clip_norm": self.clip_norm,
                "margin_floor": self.margin_floor,
                "diagonal_transform": self.diagonal_transform,
            }
        )
        return config
