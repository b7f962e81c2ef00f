"""Claims of spec 1, section 5, items 1-5 and 8: the exact population theory."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import strategies as st

from numerics.population import initial_gradient_by_extrapolation, monte_carlo_gradient_A1, relative_error
from proofs_check.cases import causal_case, causal_from_case
from proofs_check.references import REFERENCES
from proofs_check.registry import Outcome, Param, Profile, claim
from proofs_check.search import search
from proofs_check.verdicts import Z_LIMIT
from theory.graphs import CausalGraph, ranking_pairs
from theory.laws import ROOTS, pairwise_joint, stationary_distribution
from theory.priors import DirichletPrior, FinitePrior
from theory.sampling import sample_sequences
from theory.enumeration import (brute_force_pairwise_joint, context_likelihood_ratio_by_enumeration,
                                information_by_enumeration)
from theory.estimates import log_log_slope, mean_and_stderr
from theory.gradients import (attention_gradient_at_init, attention_gradient_from_N, attention_gradient_integrand,
                              empirical_law, likelihood_ratio_matrix)
from theory.information import (INFORMATION_KINDS, mixture_information, mutual_information_matrix,
                                pairwise_information_matrix, squared_hellinger)
from theory.strategies import finite_priors, forests, joint_distributions, transition_matrices

__all__ = ["ZERO_GRADIENT", "PAPER", "PAIRWISE_TOLERANCE", "INFORMATION_TOLERANCE", "ROUND_OFF_TOLERANCE",
           "GRADIENT_TOLERANCE", "BOUNDARY_TOLERANCE", "SEARCHED_KINDS", "check_pairwise_joint",
           "check_information_matrix", "check_data_processing", "check_dpi_mixture_boundary",
           "check_initial_gradient", "check_initial_gradient_dirichlet", "check_edge_ranking",
           "check_edge_ranking_uniform_boundary", "check_edge_ranking_full_gradient", "check_parent_chi2",
           "CE_PI", "check_cross_entropy_rate", "check_chi2_psd", "check_shannon_not_psd"]

PAPER = "causal"
# the tolerances of the claims below, which their property searches also use (a violation beyond the claim's
# tolerance is the case hypothesis shrinks)
PAIRWISE_TOLERANCE = 1e-12
INFORMATION_TOLERANCE = 1e-11
ROUND_OFF_TOLERANCE = 1e-10
GRADIENT_TOLERANCE = 1e-8
# max|g_closed| at or below which g counts as zero: g's terms are O(1) probabilities, so 1e-12 is far above their
# float64 round-off (about 1e-16) and far below any gradient that does not vanish; a vanishing g (a root whose
# tokens are independent of the others, e.g. π with equal rows) is judged by the absolute error instead
ZERO_GRADIENT = 1e-12
BOUNDARY_TOLERANCE = 1e-6


# the `kind` arguments the data-processing search draws: the named f-informations and a callable f
SEARCHED_KINDS = {**{kind: kind for kind in INFORMATION_KINDS}, "hellinger": squared_hellinger}


def _examples(quick: int, full: int) -> dict[str, Param]:
    return {"examples": Param(quick, full, "examples drawn by the property search")}


_case, _from_case = causal_case, causal_from_case  # the one codec of saved causal cases


def _non_parent_pairs(graph: CausalGraph) -> list[tuple[int, int, int]]:
    """``(i, p(i), j)`` for every non-root ``i`` and earlier key ``j < i``, ``j != p(i)``."""
    return [tuple(int(x) for x in row) for row in ranking_pairs(graph, "earlier")]


def _outcome_from_search(result, describe) -> Outcome:
    """The search's worst violation as the measurement; a shrunk violating case as the evidence."""
    counterexamples = [] if result.counterexample is None else [describe(result.counterexample)]
    return Outcome(result.worst, details={"examples": result.examples}, counterexamples=counterexamples)


# ------------------------------------------------------------------ 1. pairwise joints
@claim("causal.pairwise_joint",
       formulas=("theory.laws.pairwise_joint", "theory.laws.pairwise_joints"), paper=PAPER,
       statement="For a forest and a fixed π, P(x_i=a, x_j=b) = Σ_z law(x_c=z) (π^{d_i})[z,a] (π^{d_j})[z,b] "
                 "with c the lowest common ancestor, and P(x_i=a)P(x_j=b) across trees.",
       hypotheses="Forest (|p(i)| <= 1) on n <= 6 positions; fixed row-stochastic π with S in {2, 3}; "
                  "stationary or uniform roots.",
       method="Property search: closed form against brute-force enumeration of all S^n sequences "
              "(pgmpy's exact inference is a second oracle in the test suite). Measured: max absolute error.",
       kind="theorem", measured="max |closed form - brute force| over entries", direction="<=",
       tolerance=PAIRWISE_TOLERANCE, parameters=_examples(40, 300), reference=REFERENCES["causal.pairwise_joint"],
       replay=lambda case: Outcome(_joint_error(*_from_case(case), case["roots"])),
       proof_idea="Given x_c, the two paths from c to i and to j are independent Markov chains.")
def check_pairwise_joint(profile: Profile) -> Outcome:
    strategy = st.tuples(forests(st.integers(1, 6)), transition_matrices(st.integers(2, 3)), st.sampled_from(ROOTS))
    result = search(strategy, lambda ex: _joint_error(*ex), PAIRWISE_TOLERANCE, max_examples=profile.params["examples"],
                    seed_value=profile.seed)
    return _outcome_from_search(result, lambda ex: _case(ex[0], ex[1], roots=ex[2]))


def _joint_error(graph: CausalGraph, pi: np.ndarray, roots: str) -> float:
    return float(np.max(np.abs(pairwise_joint(graph, pi, roots) - brute_force_pairwise_joint(graph, pi, roots))))


# ------------------------------------------------------------------ 2. information matrices
@claim("causal.mutual_information_matrix",
       paper=PAPER,
       formulas=("theory.information.mutual_information_matrix", "theory.information.information_of_pairwise_joints"),
       statement="The T×T Shannon and χ² mutual-information matrices of the context equal the information of the "
                 "exact pairwise laws; the f-MI with f(t) = t log t and f(t) = (t-1)² reproduces them.",
       hypotheses="Forest on n <= 5 positions; fixed π with S in {2, 3}; stationary or uniform roots.",
       method="Property search against brute-force pairwise laws, Shannon MI through H(X)+H(Y)-H(X,Y) "
              "(scipy.stats.entropy), χ² through its sum (dit is a further oracle in the test suite). "
              "Measured: max absolute difference.",
       kind="theorem", measured="max |closed form - oracle| over entries, kinds and generators", direction="<=",
       tolerance=INFORMATION_TOLERANCE, parameters=_examples(30, 200),
       reference=REFERENCES["causal.mutual_information_matrix"],
       replay=lambda case: Outcome(_information_error(*_from_case(case), case["roots"])))
def check_information_matrix(profile: Profile) -> Outcome:
    strategy = st.tuples(forests(st.integers(1, 5)), transition_matrices(st.integers(2, 3)), st.sampled_from(ROOTS))
    result = search(strategy, lambda ex: _information_error(*ex), INFORMATION_TOLERANCE,
                    max_examples=profile.params["examples"],
                    seed_value=profile.seed)
    return _outcome_from_search(result, lambda ex: _case(ex[0], ex[1], roots=ex[2]))


def _information_error(graph: CausalGraph, pi: np.ndarray, roots: str) -> float:
    joint = brute_force_pairwise_joint(graph, pi, roots)
    gaps = []
    for kind, f in (("shannon", lambda t: t * np.log(np.where(t > 0, t, 1.0))), ("chi2", lambda t: (t - 1) ** 2)):
        exact = information_by_enumeration(joint, kind)
        gaps.append(np.max(np.abs(mutual_information_matrix(graph, pi, kind, roots) - exact)))
        gaps.append(np.max(np.abs(mutual_information_matrix(graph, pi, f, roots) - exact)))
    return float(max(gaps))


def _dpi_violation(info: np.ndarray, graph: CausalGraph) -> float:
    pairs = _non_parent_pairs(graph)
    if not pairs:
        return float("-inf")
    return float(max(info[i, j] - info[i, p] for i, p, j in pairs))


@claim("causal.data_processing",
       formulas=("theory.information.mutual_information_matrix",), paper=PAPER,
       statement="Data-processing inequality on the graph: for every non-root i and every j < i, "
                 "I_f(x_i; x_j) <= I_f(x_i; x_{p(i)}), for Shannon, χ² and squared-Hellinger f-MI.",
       hypotheses="Forest; fixed π (any, including near-degenerate and strongly self-looping); any root law. "
                  "Also for a prior average of the per-π informations (finite priors).",
       method="Property search over forests (n <= 7), transition matrices and finite priors. "
              "Measured: max of I(x_i;x_j) - I(x_i;x_{p(i)}) (<= 0 means the inequality holds).",
       kind="theorem", measured="max over non-roots i, j < i of I(x_i;x_j) - I(x_i;x_{p(i)})", direction="<=",
       tolerance=ROUND_OFF_TOLERANCE, parameters=_examples(40, 400), reference=REFERENCES["causal.data_processing"],
       replay=lambda case: Outcome(_dpi_case_violation(*_from_case(case), case["roots"], case["kind"])),
       proof_idea="j < i is a non-descendant of i, so x_j -> x_{p(i)} -> x_i is a Markov chain.")
def check_data_processing(profile: Profile) -> Outcome:
    source = st.one_of(transition_matrices(st.integers(2, 4)), finite_priors(st.integers(2, 3)))
    strategy = st.tuples(forests(st.integers(2, 7)), source, st.sampled_from(ROOTS),
                         st.sampled_from(sorted(SEARCHED_KINDS)))
    result = search(strategy, lambda ex: _dpi_case_violation(*ex), ROUND_OFF_TOLERANCE,
                    max_examples=profile.params["examples"],
                    seed_value=profile.seed)
    return _outcome_from_search(result, lambda ex: _case(ex[0], ex[1], roots=ex[2], kind=ex[3]))


def _dpi_case_violation(graph: CausalGraph, pi, roots: str, kind: str) -> float:
    return _dpi_violation(mutual_information_matrix(graph, pi, SEARCHED_KINDS[kind], roots), graph)


def _replay_mixture(case: dict) -> Outcome:
    graph, prior = _from_case(case)
    v = _dpi_violation(mixture_information(graph, prior, "stationary"), graph)
    return Outcome(v, details={"note": "violation of the DPI for the π-mixture's Shannon MI"})


@claim("causal.data_processing_mixture_boundary",
       formulas=("theory.information.mixture_information",), paper=PAPER, replay=_replay_mixture,
       statement="Outside the hypotheses: the data-processing inequality on the graph FAILS for the information of "
                 "the π-mixture (π integrated out), because π is a latent shared by all positions.",
       hypotheses="Dropped hypothesis: fixed π. Forest, finite prior of 2-3 matrices, stationary roots, Shannon MI "
                  "of the prior-marginal pairwise laws.",
       method="Property search for (forest, finite prior) with I(x_i;x_j) > I(x_i;x_{p(i)}) + 1e-6, shrunk by "
              "hypothesis. Measured: the largest violation found; the inequality is refuted when it exceeds 1e-6.",
       kind="boundary", measured="max over non-roots i, j < i of I(x_i;x_j) - I(x_i;x_{p(i)}) (π-mixture)",
       direction="<=", tolerance=BOUNDARY_TOLERANCE, parameters=_examples(100, 600),
       reference=REFERENCES["causal.data_processing_mixture_boundary"],
       proof_idea="Two children of one parent through the same near-deterministic random π are equal, while the "
                  "child-parent map is blurred by the mixture.")
def check_dpi_mixture_boundary(profile: Profile) -> Outcome:
    strategy = st.tuples(forests(st.integers(3, 5)), finite_priors(st.integers(2, 3)))

    def violation(ex):
        graph, prior = ex
        return _dpi_violation(mixture_information(graph, prior, "stationary"), graph)

    result = search(strategy, violation, BOUNDARY_TOLERANCE,
                    max_examples=profile.params["examples"], seed_value=profile.seed)
    found = result.counterexample is not None
    cases = [_case(*result.counterexample, violation=result.counterexample_violation)] if found else []
    return Outcome(result.worst, details={"examples": result.examples}, counterexamples=cases)


# ------------------------------------------------------------------ 3. the initial gradient
def _gradient_sources():
    return st.one_of(transition_matrices(st.integers(2, 3)), finite_priors(st.integers(2, 3), size=2))


@claim("causal.initial_gradient_autograd",
       paper=PAPER,
       formulas=("theory.gradients.attention_gradient_at_init",
                 "theory.gradients.attention_gradient_from_N",
                 "theory.gradients.likelihood_ratio_matrix"),
       statement="At A1 = 0, A2 = β·I: ∂L_lin/∂A1 = β·g + O(β²) with g the closed form of spec section 4 through N; "
                 "and the cross-entropy coefficient equals E[integrand with r = ĉ] (exact enumeration).",
       hypotheses="Forest on n <= 4 positions (T <= 5); S in {2, 3}; fixed π with full support or a finite prior; "
                  "stationary or uniform roots (N in its general form).",
       method="Autograd of the exactly enumerated population loss of the torch ReducedTransformer (float64) at "
              "β = 1e-4, 5e-5, 2.5e-5, Richardson-extrapolated to the O(β) coefficient. Measured: max relative error "
              "max|g_autograd - g_closed| / max|g_closed|; where g vanishes (max|g_closed| <= zero_gradient: a "
              "root whose tokens are independent of every other, e.g. π with equal rows, where the ratio is "
              "round-off over round-off) the absolute error max|g_autograd - g_closed|.",
       kind="theorem", measured="max|g_autograd - g_closed| / max|g_closed| (absolute where g vanishes)",
       direction="<=", tolerance=GRADIENT_TOLERANCE,
       parameters={**_examples(25, 200),
                   "zero_gradient": Param(ZERO_GRADIENT, ZERO_GRADIENT, "max|g_closed| at or below which g counts "
                                          "as zero (its O(1) terms' round-off is about 1e-16)")},
       reference=REFERENCES["causal.initial_gradient_autograd"],
       replay=lambda case: Outcome(_gradient_error(*_from_case(case), case["roots"], case["loss"], ZERO_GRADIENT)))
def check_initial_gradient(profile: Profile) -> Outcome:
    strategy = st.tuples(forests(st.integers(1, 4)), _gradient_sources(), st.sampled_from(ROOTS),
                         st.sampled_from(("linearized", "cross_entropy")))
    zero = profile.params["zero_gradient"]
    result = search(strategy, lambda ex: _gradient_error(*ex, zero), GRADIENT_TOLERANCE,
                    max_examples=profile.params["examples"],
                    seed_value=profile.seed)
    return _outcome_from_search(result, lambda ex: _case(ex[0], ex[1], roots=ex[2], loss=ex[3]))


def _gradient_error(graph: CausalGraph, pi, roots: str, loss: str, zero_gradient: float) -> float:
    closed = attention_gradient_at_init(graph, pi, loss=loss, roots=roots)
    autograd = initial_gradient_by_extrapolation(graph, pi, loss=loss, roots=roots)
    if np.max(np.abs(closed)) <= zero_gradient:  # g vanishes: the absolute error
        return float(np.max(np.abs(autograd - closed)))
    return relative_error(autograd, closed)


@claim("causal.initial_gradient_dirichlet",
       paper=PAPER,
       formulas=("theory.gradients.attention_gradient_at_init", "theory.gradients.attention_gradient_defined"),
       statement="For the Dirichlet prior, the closed-form prior average of g (Monte Carlo over π, inner expectation "
                 "exact) agrees with the Monte Carlo autograd gradient of the torch model on sampled sequences.",
       hypotheses="Chain with n = 4, S = 3, Dirichlet(α·1) rows with α = 1, stationary roots, β = 1e-6.",
       method="Two independent Monte Carlo estimates with standard errors; measured: max over entries of "
              "|difference| / combined standard error. Tolerance 4.5 (a two-sided 1e-4 level per entry, "
              "Bonferroni over the 15 entries gives a family-wise level below 2e-3).",
       kind="theorem", measured="max over entries of |closed - autograd| / combined stderr", direction="<=",
       tolerance=Z_LIMIT, reference=REFERENCES["causal.initial_gradient_dirichlet"],
       parameters={"draws": Param(2000, 20000, "draws of π for the closed-form average"),
                   "batches": Param(24, 200, "Monte Carlo autograd batches"),
                   "batch": Param(2048, 2048, "sequences per Monte Carlo autograd batch")})
def check_initial_gradient_dirichlet(profile: Profile) -> Outcome:
    graph, prior = CausalGraph.chain(4), DirichletPrior(3, 1.0)
    rng = profile.rng("dirichlet-gradient")
    closed = attention_gradient_at_init(graph, prior, draws=profile.params["draws"], rng=rng)
    mc = monte_carlo_gradient_A1(graph, prior, 1e-6, batch=profile.params["batch"],
                                 batches=profile.params["batches"], rng=rng)
    # g[0, 0] = 0 identically (one key, nothing to move): both estimates are exactly 0 with no spread there
    # compared where the prior average has a finite variance (α(S-1) = 2: the query row's variance is
    # infinite, see theory.gradients.attention_gradient_defined), and where it is random at all
    stderr = np.ma.filled(np.ma.asarray(closed.stderr, dtype=np.float64), 0.0)
    random_entries = np.tril(np.ones(stderr.shape, dtype=bool)) & np.asarray(closed.finite_variance) & (stderr > 0)
    value = np.ma.getdata(closed.value)
    z = (np.abs(value - mc.value)[random_entries] / np.sqrt(stderr ** 2 + mc.stderr ** 2)[random_entries])
    return Outcome(float(z.max()), details={"max_relative_stderr": float((mc.stderr / np.abs(mc.value).max()).max()),
                    "closed_form_draws": closed.draws, "autograd_batches": mc.draws})


# ------------------------------------------------------------------ 4. edge ranking
def _ranking_violation(M: np.ndarray, graph: CausalGraph) -> float:
    """``max_{j != p(i)} (M[i, j] - M[i, p(i)]) / max|M|``: > 0 means a non-parent outranks the parent."""
    pairs = _non_parent_pairs(graph)
    scale = np.max(np.abs(M))
    if not pairs:
        return float("-inf")
    if scale == 0:  # every entry ties (e.g. π with identical rows): the parent is not outranked
        return 0.0
    return float(max(M[i, j] - M[i, p] for i, p, j in pairs) / scale)


def _ranking_strategy():
    return st.tuples(forests(st.integers(2, 7)),
                     st.one_of(transition_matrices(st.integers(2, 4)), finite_priors(st.integers(2, 3))))


@claim("causal.edge_ranking",
       formulas=("theory.gradients.likelihood_ratio_matrix",), paper=PAPER,
       statement="Under stationary roots, for every non-root context row i and every EARLIER key j < i with "
                 "j != p(i): N[i, p(i)] >= N[i, j]; so among earlier keys the row term of the initial gradient "
                 "ranks the parent first. The row's own key j = i (N[i,i] = tr π), which layer-1 attention also "
                 "sees, is not covered: the parent outranks it iff tr π <= 1 + I_χ²(π) (causal.edge_ranking_keys; "
                 "counterexample in causal.edge_ranking_diagonal_key_boundary). The query row n has no parent; its "
                 "row term ranks the query's own key first (causal.edge_ranking_query_row_boundary).",
       hypotheses="Forest; stationary roots; fixed π with full support, or a finite prior (average of N); any T. "
                  "Keys: j < i only (theory.graphs.ranking_pairs(graph, 'earlier')).",
       method="Property search over forests (n <= 7), transition matrices of every kind and finite priors. "
              "Measured: max of (N[i,j] - N[i,p(i)]) / max|N| (<= 0 means the ranking holds).",
       kind="theorem", measured="max over non-roots i, j < i, j != p(i) of (N[i,j] - N[i,p(i)]) / max|N|",
       direction="<=", tolerance=ROUND_OFF_TOLERANCE, parameters=_examples(60, 600),
       reference=REFERENCES["causal.edge_ranking"],
       replay=lambda case: Outcome(_ranking_violation(likelihood_ratio_matrix(*_from_case(case), "stationary"),
                                                      _from_case(case)[0])),
       proof_idea="N[i,j] = E[K(x_{p(i)}, x_j)] with the PSD kernel K(c,b) = Σ_a π(c,a)π(b,a)/μ(a); "
                  "K(c,b) <= (K(c,c) + K(b,b))/2 and both arguments have marginal μ.")
def check_edge_ranking(profile: Profile) -> Outcome:
    result = search(_ranking_strategy(),
                    lambda ex: _ranking_violation(likelihood_ratio_matrix(ex[0], ex[1], "stationary"), ex[0]),
                    ROUND_OFF_TOLERANCE, max_examples=profile.params["examples"], seed_value=profile.seed)
    return _outcome_from_search(result, lambda ex: _case(ex[0], ex[1], roots="stationary"))


def _replay_uniform_roots(case: dict) -> Outcome:
    graph, pi = _from_case(case)
    v = _ranking_violation(context_likelihood_ratio_by_enumeration(graph, pi, "uniform"), graph)
    return Outcome(v, details={"note": "(N[i,j] - N[i,p(i)]) / max|N| under uniform roots, brute-force N"})


@claim("causal.edge_ranking_uniform_roots_boundary",
       formulas=("theory.gradients.likelihood_ratio_matrix",), paper=PAPER, replay=_replay_uniform_roots,
       statement="Outside the hypotheses: with uniform roots the ranking N[i, p(i)] >= N[i, j] FAILS for some "
                 "forest and π (the marginals are no longer all μ).",
       hypotheses="Dropped hypothesis: stationary roots (roots uniform instead). Searched: forests on 3-4 positions, "
                  "fixed π with S in {3, 4}; keys j < i only.",
       method="Property search for a violation > 1e-6, shrunk by hypothesis and confirmed against N computed from "
              "brute-force pairwise laws. Measured: the confirmed violation (the largest seen if none was found).",
       kind="boundary", measured="(N[i,j] - N[i,p(i)]) / max|N| of the confirmed case, uniform roots",
       direction="<=", tolerance=BOUNDARY_TOLERANCE, reference=REFERENCES["causal.edge_ranking_uniform_roots_boundary"],
       parameters={**_examples(250, 1000), "restarts": Param(6, 6, "independent searches at most")})
def check_edge_ranking_uniform_boundary(profile: Profile) -> Outcome:
    strategy = st.tuples(forests(st.integers(3, 4)), transition_matrices(st.integers(3, 4)))
    seen, restarts = 0, profile.params["restarts"]
    for attempt in range(restarts):  # independent restarts: one search of 400 finds a violation about half the time
        result = search(strategy, lambda ex: _ranking_violation(likelihood_ratio_matrix(ex[0], ex[1], "uniform"), ex[0]),
                        BOUNDARY_TOLERANCE,
                            max_examples=profile.params["examples"], seed_value=restarts * profile.seed + attempt)
        seen += result.examples
        if result.counterexample is not None:
            break
    if result.counterexample is None:
        return Outcome(result.worst, details={"examples": seen, "note": "no counterexample found"})
    graph, pi = result.counterexample
    confirmed = _ranking_violation(context_likelihood_ratio_by_enumeration(graph, pi, "uniform"), graph)
    return Outcome(confirmed, details={"examples": seen, "restarts": attempt + 1},
                   counterexamples=[_case(graph, pi, roots="uniform", violation=confirmed)])


@claim("causal.edge_ranking_full_gradient",
       paper=PAPER,
       formulas=("theory.gradients.attention_gradient_from_N", "theory.gradients.likelihood_ratio_matrix"),
       statement="Beyond the row term: the full initial gradient (row term plus the O(1/T) column correction) "
                 "also ranks the parent first: g[i, p(i)] <= g[i, j] for every earlier key j < i, j != p(i) "
                 "(not j = i: there the full gradient fails as often as the row term, see "
                 "causal.edge_ranking_diagonal_key_boundary).",
       hypotheses="Forest (n <= 7); stationary roots; fixed π with full support or a finite prior. The spec proves "
                  "only the row term; this is a conjecture searched for counterexamples.",
       method="Property search; measured: max of (g[i,p(i)] - g[i,j]) / (max|N| / (S·T)) (<= 0: the parent is "
              "the most negative entry). A counterexample would be reported here and fail the check.",
       kind="theorem", measured="max over non-roots i, j < i, j != p(i) of (g[i,p(i)] - g[i,j]) / (max|N|/(S·T))",
       direction="<=", tolerance=ROUND_OFF_TOLERANCE, parameters=_examples(60, 600),
       reference=REFERENCES["causal.edge_ranking_full_gradient"],
       replay=lambda case: Outcome(_full_gradient_violation(*_from_case(case))))
def check_edge_ranking_full_gradient(profile: Profile) -> Outcome:
    result = search(_ranking_strategy(), lambda ex: _full_gradient_violation(*ex), ROUND_OFF_TOLERANCE,
                    max_examples=profile.params["examples"], seed_value=profile.seed)
    return _outcome_from_search(result, lambda ex: _case(ex[0], ex[1], roots="stationary"))


def _full_gradient_violation(graph: CausalGraph, pi) -> float:
    N = likelihood_ratio_matrix(graph, pi, "stationary")
    S, T = _states(pi), graph.n + 1
    g = attention_gradient_from_N(N, S)
    pairs = _non_parent_pairs(graph)
    if not pairs:
        return float("-inf")
    # g's entries are differences of N's divided by S·T: measure on that scale, so that a π with
    # (nearly) identical rows, where g is round-off, does not turn round-off into a ranking
    return float(max(g[i, p] - g[i, j] for i, p, j in pairs) / (np.max(np.abs(N)) / (S * T)))


def _states(pi) -> int:
    return pi.S if isinstance(pi, FinitePrior) else np.asarray(pi).shape[0]


@claim("causal.parent_chi2_identity",
       paper=PAPER,
       formulas=("theory.gradients.likelihood_ratio_matrix", "theory.information.mutual_information_matrix"),
       statement="For a parent under stationary roots: N[i, p(i)] = 1 + I_χ²(x_i; x_{p(i)}).",
       hypotheses="Forest; stationary roots; fixed π with full support.",
       method="Property search: N from the closed form against the χ² MI matrix. Measured: max relative gap.",
       kind="theorem", measured="max over children i of |N[i,p(i)] - 1 - I_χ²(x_i;x_{p(i)})| / N[i,p(i)]",
       direction="<=", tolerance=ROUND_OFF_TOLERANCE, parameters=_examples(40, 400),
       reference=REFERENCES["causal.parent_chi2_identity"],
       replay=lambda case: Outcome(_chi2_identity_gap(*_from_case(case))),
       proof_idea="(x_{p(i)}, x_i) has law μ(c)π(c,a), and π(c,a)/μ(a) = P(c,a)/(μ(c)μ(a)).")
def check_parent_chi2(profile: Profile) -> Outcome:
    strategy = st.tuples(forests(st.integers(2, 7)), transition_matrices(st.integers(2, 4)))
    result = search(strategy, lambda ex: _chi2_identity_gap(*ex), ROUND_OFF_TOLERANCE,
                    max_examples=profile.params["examples"],
                    seed_value=profile.seed)
    return _outcome_from_search(result, lambda ex: _case(ex[0], ex[1], roots="stationary"))


def _chi2_identity_gap(graph: CausalGraph, pi: np.ndarray) -> float:
    N = likelihood_ratio_matrix(graph, pi, "stationary")
    chi2 = mutual_information_matrix(graph, pi, "chi2", "stationary")
    par = graph.parent_array()
    kids = np.flatnonzero(par >= 0)
    if len(kids) == 0:
        return float("-inf")
    return float(np.max(np.abs(N[kids, par[kids]] - 1 - chi2[kids, par[kids]]) / N[kids, par[kids]]))


# ------------------------------------------------------------------ 5. cross-entropy versus linearised
def _relative_gap(graph: CausalGraph, pi: np.ndarray, ce: np.ndarray) -> float:
    lin = attention_gradient_at_init(graph, pi)
    return float(np.linalg.norm(ce - lin) / np.linalg.norm(lin))


def _monte_carlo_gap(graph: CausalGraph, pi: np.ndarray, samples: int, rng) -> tuple[float, float]:
    """Relative gap by Monte Carlo of the integrand difference (ĉ versus μ on the same sequences)."""
    S, chunks = pi.shape[0], []
    mu = np.broadcast_to(stationary_distribution(pi), (samples // 20, S))
    for _ in range(20):
        draw = sample_sequences(graph, pi, samples // 20, rng)
        diff = (attention_gradient_integrand(draw.tokens, draw.target, empirical_law(draw.tokens, S))
                - attention_gradient_integrand(draw.tokens, draw.target, mu))
        chunks.append(diff.mean(axis=0))
    est = mean_and_stderr(np.array(chunks))
    scale = np.linalg.norm(attention_gradient_at_init(graph, pi))
    return float(np.linalg.norm(est.value) / scale), float(np.linalg.norm(est.stderr) / scale)


CE_PI = np.array([[0.8, 0.2], [0.3, 0.7]])


@claim("causal.cross_entropy_vs_linearized",
       paper=PAPER,
       formulas=("theory.gradients.attention_gradient_at_init", "theory.gradients.attention_gradient_integrand"),
       statement="The initial gradient of the true cross-entropy approaches the linearised closed form as the "
                 "context grows; the relative gap ||g_CE - g_lin||_F / ||g_lin||_F decays like n^(-r).",
       hypotheses="Markov chain, S = 2, fixed π = [[0.8, 0.2], [0.3, 0.7]], stationary roots, β -> 0.",
       method="Exact enumeration of the cross-entropy coefficient (r = ĉ, the β = 0 output) for n = 3..12; the "
              "full profile adds Monte Carlo points n = 16, 24 (integrand difference on common sequences, "
              "standard errors reported). Measured: the fitted exponent -r over the largest sizes; passes if "
              "r >= 0.5 and the gap decreases over them.",
       kind="theorem", measured="fitted log-log exponent of the relative gap against n", direction="<=",
       tolerance=-0.5, conditions={"gap_decreasing_over_fitted_sizes": ("==", True)},
       parameters={"monte_carlo_n": Param((), (16, 24), "context lengths added by Monte Carlo"),
                   "monte_carlo_samples": Param(200_000, 200_000, "sequences per Monte Carlo point")},
       reference=REFERENCES["causal.cross_entropy_vs_linearized"],
       proof_idea="ĉ -> μ_π by ergodicity, so w = y/ĉ -> y/μ.")
def check_cross_entropy_rate(profile: Profile) -> Outcome:
    ns = list(range(3, 13))
    gaps = [_relative_gap(CausalGraph.chain(n), CE_PI,
                          attention_gradient_at_init(CausalGraph.chain(n), CE_PI, loss="cross_entropy"))
            for n in ns]
    details = {"n": ns, "relative_gap": gaps}
    fit_n, fit_gap = ns[-4:], gaps[-4:]
    rng = profile.rng("ce-rate")
    for n in profile.params["monte_carlo_n"]:
        gap, se = _monte_carlo_gap(CausalGraph.chain(n), CE_PI, profile.params["monte_carlo_samples"], rng)
        details.setdefault("monte_carlo", []).append({"n": n, "relative_gap": gap, "stderr": se})
        fit_n, fit_gap = fit_n + [n], fit_gap + [gap]
    slope, _ = log_log_slope(fit_n, fit_gap)  # ordinary least squares
    decreasing = bool(np.all(np.diff(fit_gap) < 0))
    details["fitted_exponent"] = slope
    return Outcome(slope, conditions={"gap_decreasing_over_fitted_sizes": decreasing}, details=details)


# ------------------------------------------------------------------ 8. positive semi-definiteness
def _min_eigen_ratio(M: np.ndarray) -> float:
    return float(np.linalg.eigvalsh((M + M.T) / 2)[0] / max(1.0, np.trace(M)))


@claim("causal.chi2_information_psd",
       paper=PAPER,
       formulas=("theory.information.pairwise_information_matrix", "theory.information.mutual_information_matrix"),
       statement="Pairwise χ² mutual-information matrices (diagonal I_χ²(X;X) = |supp X| - 1) are positive "
                 "semi-definite for every finite-alphabet joint law.",
       hypotheses="Any joint law of n variables on finite alphabets (searched: n = 3, 4 binary; n = 3 ternary), "
                  "and the context laws of forests under any π and root law.",
       method="Property search; measured: max of -λ_min(M) / max(1, tr M) (<= 0 means PSD).",
       kind="theorem", measured="max of -λ_min(M) / max(1, tr M)", direction="<=", tolerance=ROUND_OFF_TOLERANCE,
       parameters=_examples(60, 500), reference=REFERENCES["causal.chi2_information_psd"],
       replay=lambda case: Outcome(_chi2_negativity(_psd_example(case))),
       proof_idea="With Z_i = Σ_a 1[X_i=a]1[X'_i=a]/P(X_i=a) for an independent copy X', "
                  "I_χ²(X_i;X_j) = Cov(Z_i, Z_j), a covariance matrix.")
def check_chi2_psd(profile: Profile) -> Outcome:
    laws = st.one_of(joint_distributions(3, 2), joint_distributions(4, 2), joint_distributions(3, 3))
    graphs = st.tuples(forests(st.integers(2, 6)), transition_matrices(st.integers(2, 4)), st.sampled_from(ROOTS))

    result = search(st.one_of(laws, graphs), _chi2_negativity, ROUND_OFF_TOLERANCE,
                    max_examples=profile.params["examples"],
                    seed_value=profile.seed)
    describe = lambda ex: _case(*ex[:2], roots=ex[2]) if isinstance(ex, tuple) else {"joint": ex.tolist()}
    return _outcome_from_search(result, describe)


def _chi2_negativity(ex) -> float:
    """``-λ_min / max(1, tr)`` of the χ² matrix of a joint law or of a (forest, π, roots) context."""
    if isinstance(ex, tuple):
        return -_min_eigen_ratio(mutual_information_matrix(ex[0], ex[1], "chi2", ex[2]))
    return -_min_eigen_ratio(pairwise_information_matrix(ex, "chi2"))


def _psd_example(case: dict):
    """Inverse of the χ² search's case: a joint law array, or ``(graph, π, roots)``."""
    if "joint" in case:
        return np.asarray(case["joint"], dtype=np.float64)
    return (*_from_case(case), case["roots"])


def _functions_of_two_bits() -> list[np.ndarray]:
    """Every function of two uniform bits up to relabelling: the 15 set partitions of {00, 01, 10, 11}."""
    labelings = set()
    for labels in itertools.product(range(4), repeat=4):
        canon, seen = [], {}
        for v in labels:
            canon.append(seen.setdefault(v, len(seen)))
        labelings.add(tuple(canon))
    return [np.array(l) for l in sorted(labelings)]


def _joint_of_functions(funcs: tuple[np.ndarray, ...]) -> np.ndarray:
    """Joint law of ``(f_1(U), ..., f_k(U))`` with ``U`` uniform on 4 points (alphabet 4 per variable)."""
    joint = np.zeros((4,) * len(funcs))
    for u in range(4):
        joint[tuple(f[u] for f in funcs)] += 0.25
    return joint


@claim("causal.shannon_information_not_psd",
       formulas=("theory.information.pairwise_information_matrix",), paper=PAPER,
       statement="Outside the hypothesis of the χ² theorem (an f whose power series has non-negative coefficients): "
                 "Shannon mutual-information matrices (diagonal H(X_i)) are positive semi-definite for every "
                 "distribution FAILS (f = t log t has negative power-series coefficients).",
       hypotheses="Searched class: 4-tuples of deterministic functions of two independent uniform bits (all "
                  "15^4 combinations of the 15 partitions of 4 points). Random laws on 3 variables cannot give a "
                  "counterexample (Jakobsen 2014 proves PSD for n <= 3), which a random search confirmed.",
       method="Exhaustive search. Measured: the most negative λ_min / max(1, tr M) of a Shannon MI matrix; PSD "
              "is refuted below -1e-9. Premise: the χ² matrix of the same law is PSD (the oracle agrees with the "
              "χ² theorem on the case).",
       kind="boundary", measured="min over the searched laws of λ_min(M_Shannon) / max(1, tr M)",
       replay=lambda case: _shannon_psd_measurements(_joint_from_support(case)),
       direction=">=", tolerance=-1e-9, premises={"chi2_min_eigen_ratio_same_law": (">=", -1e-10)},
       parameters={"variables": Param(4, 4, "variables per law (functions of two bits); PSD is proved for <= 3")},
       reference=REFERENCES["causal.shannon_information_not_psd"],
       proof_idea="X1, X2 independent bits, X3 = (X1, X2), X4 = X1 xor X2: the vector (1, 1, -1, 1) gives "
                  "vᵀMv = -1 bit.")
def check_shannon_not_psd(profile: Profile) -> Outcome:
    funcs = _functions_of_two_bits()
    best, best_case = np.inf, None
    for combo in itertools.combinations_with_replacement(range(len(funcs)), profile.params["variables"]):
        joint = _joint_of_functions(tuple(funcs[k] for k in combo))
        ratio = _min_eigen_ratio(pairwise_information_matrix(joint, "shannon"))
        if ratio < best:
            best, best_case = ratio, joint
    M = pairwise_information_matrix(best_case, "shannon")
    case = {"joint_support": [list(map(int, idx)) for idx in zip(*np.nonzero(best_case))],
            "probability_each": 0.25, "shannon_matrix_nats": M.round(6).tolist(),
            "min_eigenvalue": float(np.linalg.eigvalsh(M)[0])}
    found = _shannon_psd_measurements(best_case)
    found.counterexamples = [case]
    return found


def _shannon_psd_measurements(joint: np.ndarray) -> Outcome:
    """λ_min / max(1, tr) of the law's Shannon MI matrix; premise: its χ² matrix is PSD."""
    return Outcome(_min_eigen_ratio(pairwise_information_matrix(joint, "shannon")),
                   premises={"chi2_min_eigen_ratio_same_law":
                             _min_eigen_ratio(pairwise_information_matrix(joint, "chi2"))})


def _joint_from_support(case: dict) -> np.ndarray:
    """The joint law of a saved case: equal mass on each listed support point."""
    support = np.asarray(case["joint_support"], dtype=np.int64)
    joint = np.zeros(tuple(support.max(axis=0) + 1))
    joint[tuple(support.T)] = float(case["probability_each"])
    return joint
