"""Every figure of the proof check: one function per figure, named after what it draws (matplotlib, Agg, PNG).

Each function takes the data a claim measured and the PNG ``path`` last or after the data; a claim hands
``functools.partial(figures.<name>, data...)`` to :class:`proofs_check.registry.Outcome` as its
``figure``, and the report calls it with the path.  The functions live in :mod:`.causal` and
:mod:`.autoregressive`, one module per paper, on the shared set-up of :mod:`.canvas`; this package
re-exports them all.

Causal-structure paper (spec 1), training:
    ``training_summary``            A1 beside the true parents, A2, the loss curve, -g against χ²-MI
    ``layer1_attention_maps``       layer-1 attention maps with the true parents circled, a loss curve
    ``excess_over_count_estimator`` the induction head's excess over the count estimator against n
    ``parent_weight_by_position_band``  Figure 9: layer-1 position softmax on the parent, by position
    ``official_bayes_offsets``      the published "Bayes" line minus the count estimator, per graph
    ``disentangled_graph_panels``   Figures 2 and 6: attention, layer 2's induction block, loss with both lines
    ``architecture_gap_bars``       the best gap to the count estimator of each search, query seen / unseen
    ``two_parent_heads``            Figures 5 and 7: each head's weight on the two parents, loss against references
Autoregressive paper (spec 2):
    ``raw_token_minima``             trained raw-token loss against d - min(H, d), BᵀA and p per H
    ``positional_weights_rows``      trained positional rows against the closed form p* = G⁺g, per ν
    ``positional_path_rows_and_spectrum``  GD path rows and the Gram spectrum reached, per ν
    ``real_orthogonal_minima``       constructed, BFGS and random losses against d - 2 min(H, d/2)
    ``trained_vs_constructed_bars``  L*, trained full Q, K, V and B G_t A s_t per setting
    ``haar_augmented_loss_by_position``  Figure 5: MSE by position, GD references against trained models
    ``haar_raw_token_heads``         Figure 7: per-head positional mass, head |cos| trained vs init, loss vs references
"""

from proofs_check.figures.autoregressive import (haar_augmented_loss_by_position, haar_raw_token_heads,
                                                 positional_path_rows_and_spectrum, positional_weights_rows,
                                                 raw_token_minima, real_orthogonal_minima,
                                                 trained_vs_constructed_bars)
from proofs_check.figures.causal import (architecture_gap_bars, disentangled_budget_curve, disentangled_graph_panels,
                                         excess_over_count_estimator, layer1_attention_maps, official_bayes_offsets,
                                         parent_weight_by_position_band, training_summary, two_parent_heads)

__all__ = ["architecture_gap_bars", "disentangled_budget_curve", "disentangled_graph_panels", "excess_over_count_estimator", "haar_augmented_loss_by_position", "haar_raw_token_heads", "layer1_attention_maps", "official_bayes_offsets", "parent_weight_by_position_band", "positional_path_rows_and_spectrum", "positional_weights_rows", "raw_token_minima", "real_orthogonal_minima", "trained_vs_constructed_bars", "training_summary", "two_parent_heads"]
