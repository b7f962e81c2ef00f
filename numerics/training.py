"""Old import path of spec 1's training toolkit; every name now lives in the module of its concern.

``from numerics.training import train_reduced, train_disentangled, ...`` keeps working:

- :mod:`numerics.train_reduced`: ``train_reduced``, ``ReducedRun``, ``SOURCES``.
- :mod:`numerics.train_disentangled`: ``train_disentangled``, ``DisentangledRun``.
- :mod:`numerics.evaluation`: ``parent_weights``, ``attention_argmax_matches``,
  ``head_parent_assignment``, ``cross_entropies``, ``cross_entropy_of``,
  ``query_seen_as_parent``, ``HeldOutSample`` / ``held_out_sample`` / ``held_out_sample_of``
  (formerly ``TestSample`` / ``make_test_sample`` / ``test_sample_of``), ``held_out_loss``,
  ``induction_head_model``, ``induction_reference``, ``EstimatorGap``,
  ``gap_to_count_estimator``, ``induction_head_excess``, ``REDUCED_SMOOTHING``,
  ``RECOVERY_WEIGHT``, ``RECOVERY_LOSS_GAP``.
- :mod:`numerics.runtime`: ``TrainingDiverged``, ``Progress``, ``single_thread``.
- :mod:`theory.gradients`: ``small_beta_attention_gradient``, ``drift_matrix``, ``causal_softmax``.
- :mod:`theory.sampling`: ``sample_k_parent_sequences``.
- The benchmark is ``numerics.bench.training_benchmark``.
"""

from numerics.evaluation import (RECOVERY_LOSS_GAP, RECOVERY_WEIGHT, REDUCED_SMOOTHING, EstimatorGap,
                                 HeldOutSample, attention_argmax_matches, cross_entropies, cross_entropy_of,
                                 gap_to_count_estimator, head_parent_assignment, held_out_loss, held_out_sample,
                                 held_out_sample_of, induction_head_excess, induction_head_model,
                                 induction_reference, parent_weights, query_seen_as_parent)
from numerics.runtime import Progress, TrainingDiverged, single_thread
from numerics.train_disentangled import DisentangledRun, train_disentangled
from numerics.train_reduced import SOURCES, ReducedRun, train_reduced
from theory.gradients import causal_softmax, drift_matrix, small_beta_attention_gradient
from theory.sampling import sample_k_parent_sequences

__all__ = [
    "RECOVERY_LOSS_GAP", "RECOVERY_WEIGHT", "REDUCED_SMOOTHING", "EstimatorGap", "HeldOutSample",
    "attention_argmax_matches", "cross_entropies", "cross_entropy_of", "gap_to_count_estimator",
    "head_parent_assignment", "held_out_loss", "held_out_sample", "held_out_sample_of",
    "induction_head_excess", "induction_head_model", "induction_reference", "parent_weights",
    "query_seen_as_parent", "Progress", "TrainingDiverged", "single_thread", "DisentangledRun",
    "train_disentangled", "SOURCES", "ReducedRun", "train_reduced", "sample_k_parent_sequences",
    "causal_softmax", "drift_matrix", "small_beta_attention_gradient",
]
