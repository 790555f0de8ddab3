"""Evaluation of scrubbed embeddings: arrays in, numbers out.

Decodability of nuisance variables, kernel two-sample distances and the
lesion effect size, motion-synthesis consistency, clustering diagnostics,
session-level disease detection and a model-selection scorer.
"""

from .clustering import (
    ClusterAgreement,
    ClusterSpread,
    cluster_agreement,
    cluster_embeddings,
    cluster_nuisance_spread,
    cluster_variance_explained,
)
from .decodability import DecodabilityResult, decodability_score
from .lesion import SessionClassification, session_knn_accuracy, severity_correlation
from .mmd import effect_size_d, median_bandwidth, mmd
from .scoring import ScrubbingScorer, make_scrubbing_scorer
from .synthesis import measure_heading, measure_speed, synthesis_consistency_score

__all__ = [
    "ClusterAgreement",
    "ClusterSpread",
    "DecodabilityResult",
    "ScrubbingScorer",
    "SessionClassification",
    "cluster_agreement",
    "cluster_embeddings",
    "cluster_nuisance_spread",
    "cluster_variance_explained",
    "decodability_score",
    "effect_size_d",
    "make_scrubbing_scorer",
    "measure_heading",
    "measure_speed",
    "median_bandwidth",
    "mmd",
    "session_knn_accuracy",
    "severity_correlation",
    "synthesis_consistency_score",
]
