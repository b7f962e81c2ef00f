"""Where each claim sits in its paper: theorem, lemma, section or figure.

arXiv 2402.14735 for the causal paper, 2402.05787 for the autoregressive one.
Figure numbers are those of the authors' published code (which names each
figure it draws); where only the part of the paper is known, the entry names
that part rather than a number.  A claim that goes beyond its paper says so.
"""

__all__ = ["REFERENCES"]

_STAGE1 = "stage-1 analysis of the reduced model (gradient of A1 at initialisation)"

REFERENCES: dict[str, str] = {
    "causal.pairwise_joint": "Section 2, the task 'random sequences with causal structure' "
                             "(the LCA closed form is the toolkit's derivation from it)",
    "causal.mutual_information_matrix": f"{_STAGE1}: χ² mutual information; the Shannon and f-MI matrices "
                                        "generalise it (beyond the paper)",
    "causal.data_processing": f"{_STAGE1}: the data-processing-inequality step named in the abstract",
    "causal.data_processing_mixture_boundary": f"{_STAGE1}: boundary of the data-processing step "
                                               "(π integrated out; beyond the paper)",
    "causal.initial_gradient_autograd": f"{_STAGE1}: the gradient lemma (spec 1, section 4)",
    "causal.initial_gradient_dirichlet": f"{_STAGE1}: the gradient lemma averaged over the Dirichlet prior",
    "causal.edge_ranking": f"{_STAGE1}: the largest gradient entry of row i is at the parent",
    "causal.edge_ranking_uniform_roots_boundary": f"{_STAGE1}: boundary of the ranking (non-stationary roots; "
                                                  "beyond the paper)",
    "causal.edge_ranking_full_gradient": f"{_STAGE1}: ranking including the O(1/T) column correction "
                                         "(conjecture beyond the paper)",
    "causal.parent_chi2_identity": f"{_STAGE1}: parent entry N[i, p(i)] = 1 + I_χ²",
    "causal.cross_entropy_vs_linearized": f"{_STAGE1}: the linearised (large-context) approximation of the "
                                          "cross-entropy gradient",
    "causal.chi2_information_psd": "forward citation: Robertson, 'A Global Characterization of f-Divergences "
                                   "Yielding PSD Mutual-Information Matrices', arXiv 2601.08929 (sufficiency: χ²)",
    "causal.shannon_information_not_psd": "forward citation: Robertson, arXiv 2601.08929 (necessity: a negative "
                                          "power-series coefficient, Shannon)",
    "causal.symbolic_gradient": f"{_STAGE1}: the gradient lemma, proved symbolically for S = 2",
    "causal.symbolic_chi2_parent": f"{_STAGE1}: N[i, p(i)] = 1 + I_χ², proved symbolically for S = 2",
    "causal.train_argmax_parent": "main theorem, stage 1 (A1 converges to the adjacency); theory for "
                                  "Figures 2 and 6 (the reduced model, which the paper's experiments do not train)",
    "causal.train_initial_direction": f"{_STAGE1}: early dynamics along the initial gradient",
    "causal.train_induction_head": "main theorem, in-context Markov chain special case (induction head); "
                                  "theory for Figure 2 (reduced model)",
    "causal.train_loss_vs_estimator": "main theorem, stage 2 (A2 trained): loss near the optimum; theory for "
                                     "Figure 2 (reduced model)",
    "causal.induction_head_vs_estimator": "main theorem, loss of the induction head against the count "
                                          "estimator ('Bayes' in Figure 2); theory for Figure 2",
    "causal.train_disentangled_graph": "experiments: the disentangled transformer trained from zero on the chain, "
                                       "Figure 2 with Adam at a CPU-minute budget (the paper: 2^17 SGD steps; "
                                       "see proofs-check figures for what differs)",
    "causal.train_k_parents": "multiple parents, one layer-1 head per parent, on the 2-gram graph; "
                                "theory for Figures 5 and 7 (the paper's graph has parents ((i-1)//2, i-1))",
    "causal.train_ood_query": "main theorem, out-of-distribution generalisation of the learned mechanism",
    "ar.identity": "Section 'augmented tokens': explicit Q, K, V implementing one gradient step in context",
    "ar.gd_step_loss": "Section 'augmented tokens': optimal step of the one-GD-step mapping, commuting unitary "
                       "contexts (closed form derived by the toolkit)",
    "ar.trained_equals_constructed": "Section 'augmented tokens': the trained layer implements one GD step; "
                                     "theory for Figure 5 (commuting contexts; the figure's W is Haar on O(d))",
    "ar.raw_token_loss": "Section 'non-augmented tokens': closed-form population loss of the diagonal multi-head "
                         "attention with positional weights; Figure 3 (left)",
    "ar.global_minima": "Section 'non-augmented tokens': global minima, orthogonal heads, p on the last key; "
                        "Figure 3 (left)",
    "ar.real_orthogonal": "Section 'non-augmented tokens': commuting orthogonal contexts, trigonometric relations "
                          "in the positional weights; Figure 3 (right)",
    "ar.positional_weights": "Section 'non-augmented tokens', positional encoding only with a restricted angle "
                             "range; Figure 6",
    "ar.trained_equals_constructed_phase_invariant": "Section 'augmented tokens': the trained layer implements one "
                                                     "GD step; Zheng et al. 2024 (mesa-optimization) for the "
                                                     "condition on the law of the first token",
    "ar.trained_equals_constructed_real_blocks": "Section 'augmented tokens', realified (real rotation blocks)",
    "ar.positional_gd_path": "Section 'non-augmented tokens', positional encoding only: the experiment of Figure 6 "
                             "(d = 1, ν ∈ {50, 100, 200, 300}, lr 0.5, stopped at loss 1e-3)",
    "ar.haar_raw_tokens": "Section 'experiments', non-augmented setting: Figure 7 (non_augmented.py), W Haar on "
                          "O(d), 64 heads; against the real-orthogonal minimum (claim ar.real_orthogonal_minimum) "
                          "and the introduction's 'generalize our theoretical findings' to non-commuting contexts",
    "ar.haar_gd_step_references": "Section 'augmented tokens', one GD step (Proposition on the optimal step) "
                                  "for the non-commuting contexts of Figure 5 (W Haar on O(d)); the exact Haar "
                                  "moments are the toolkit's derivation",
    "ar.haar_preconditioned_step": "Section 'augmented tokens': the trained layer is one GD step, no "
                                   "preconditioning; Figure 5's Haar contexts, outside the commuting hypothesis",
    "ar.haar_bare_layer_fixed_start": "Section 'augmented tokens': the trained layer implements one GD step; "
                                      "theory for Figure 5 (W Haar on O(d), fixed s_0)",
    "ar.haar_bare_layer_sphere_start": "Section 'augmented tokens': the trained layer implements one GD step "
                                       "(invariant s_0); W Haar on O(d), outside the commuting hypothesis",
    "ar.haar_official_figure5": "Figure 5 (augmented tokens, W Haar on O(d), the official code augmented.py) and "
                                "the introduction's 'generalize our theoretical findings' to non-commuting contexts",
    "ar.real_orthogonal_minimum": "Section 'non-augmented tokens': commuting orthogonal contexts, trigonometric "
                                  "relations of the positional weights; Figure 3 (right); the minimum value is "
                                  "the toolkit's derivation",
    "causal.edge_ranking_keys": f"{_STAGE1}: the keys of the ranking (diagonal and query-row keys; beyond the paper)",
    "causal.edge_ranking_diagonal_key_boundary": f"{_STAGE1}: boundary of the ranking at the row's own key "
                                                 "(beyond the paper)",
    "causal.edge_ranking_query_row_boundary": f"{_STAGE1}: the query row of A1, which has no parent "
                                              "(beyond the paper)",
    "causal.disentangled_approaches_count_estimator": "experiments: Figure 2, the disentangled transformer's loss "
                                                      "approaches the count estimator ('Bayes'); Adam learning "
                                                      "curves at CPU budgets (see proofs-check figures)",
    "causal.random_graphs_parent_attention": "experiments: Figure 9, 20 random graphs (roots with probability "
                                             "1/2), the layer-1 position softmax on the parent; the abstract's "
                                             "'a wide variety of causal structures'",
    "causal.official_bayes_line": "experiments: the dashed 'Bayes' line of Figures 2 and 6, as the official code "
                                  "computes it (single_parent.py, InContextTree.bayes)",
    "causal.standard_transformer_chain": "experiments: Figure 8, a standard transformer (embeddings added, MLPs, "
                                         "residual) learns the chain",
    "causal.disentangled_graphs": "experiments: Figures 2 and 6, the disentangled transformer on the chain, "
                                  "in-context pairs, a random forest and a small DAG (the abstract's 'a wide "
                                  "variety of causal structures')",
    "causal.architecture_gap": "experiments: the loss panels of Figures 2 and 6, the count estimator's line against "
                               "the best the disentangled transformer can represent (beyond the paper)",
    "causal.two_parent_graph": "experiments: Figures 5 and 7, the paper's two-parent graph (parents "
                               "((i-1)//2, i-1)) with two layer-1 heads",
    "ar.official_population_loss": "Section 'non-augmented tokens': the population loss of Figure 3 (left) as typed "
                                   "in the official code (unitary.py, loss_function), against the paper's model",
    "ar.figure4_ar1_reconstruction": "Section 'experiments', Figure 4: AR(1) least-squares reconstruction of GPT-2 "
                                     "token-embedding windows (official notebook gpt2.ipynb)",
}
