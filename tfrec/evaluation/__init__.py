"""Evaluation protocols (spec/evaluation.md), significance tests and a training callback."""

from tfrec.evaluation.callback import RankingEvaluationCallback
from tfrec.evaluation.clustering import nmi_spherical_kmeans
from tfrec.evaluation.full_ranking import evaluate_full_ranking
from tfrec.evaluation.full_ranking import evaluate_leave_one_out_full
from tfrec.evaluation.ranking_result import RankingResult
from tfrec.evaluation.sampled import evaluate_sampled
from tfrec.evaluation.significance import PairedTest
from tfrec.evaluation.significance import paired_t_test
from tfrec.evaluation.top_k import top_k_items
