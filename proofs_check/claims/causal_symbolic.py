"""Symbolic proofs on a symbolic 2-state π (spec 1, sections 4 and 5, oracle "sympy on symbolic π").

Both claims work in the rational-function field ``QQ(p, q)`` of
``π = [[1 - p, p], [q, 1 - q]]`` (:mod:`theory.symbolic`), so a difference
that is ``0`` there is ``0`` for every ``p, q > 0``: a proof, not a sample.
"""

from __future__ import annotations

import sympy as sp

from theory.graphs import CausalGraph
from theory.symbolic import p, prove_chi2_parent_identity, prove_initial_gradient, q
from proofs_check.references import REFERENCES
from proofs_check.registry import Outcome, Param, Profile, claim

__all__ = ["N_CONTEXT", "ROOT_LAWS", "WITNESS", "check_symbolic_gradient", "check_symbolic_chi2_parent"]

N_CONTEXT = Param(3, 3, "context positions n of the symbolic graphs (T = n + 1; cost grows like 2^T)")


def _graphs(profile: Profile) -> dict[str, CausalGraph]:
    n = profile.params["n"]
    return {"chain": CausalGraph.chain(n), "icl_pairs": CausalGraph.icl_pairs(n)}
ROOT_LAWS = ("stationary", "uniform")
WITNESS = {p: sp.Rational(1, 3), q: sp.Rational(1, 4)}  # a point where a non-zero difference is shown non-zero


@claim(
    "causal.symbolic_gradient",
    formulas=("theory.gradients.attention_gradient_from_N", "theory.gradients.likelihood_ratio_from_joint"),
    paper="causal",
    statement="""
The O(β) coefficient of the gradient of the linearised population loss
L_lin = -E[Σ_s y_s ŷ_s / μ_π(s)] of the reduced model, ∂L_lin/∂A1 at A1 = 0,
A2 = β·I, equals the closed form of section 4,
g[i, j] = -1/(S T (i+1)) · [(N[i, j] - N̄(i, i)) - (1/T) Σ_m (N[m, j] - N̄(m, i))],
with the general N[m, j] = S·E[π(x_n, x_m)/μ_π(x_m) · 1[x_j = x_n]],
identically in π.
""",
    hypotheses="""
S = 2, π = [[1-p, p], [q, 1-q]] with symbolic p, q > 0 (so every 2-state chain
with a unique stationary law of full support); fixed π (no prior); n = 3
context positions (T = 4); graphs: the in-context Markov chain and icl_pairs(3);
roots stationary (x_root ~ μ_π) and uniform; query uniform, target y = π(x_n, ·).
""",
    method="""
Model side: enumerate all S^T = 16 sequences with their symbolic probabilities,
write the reduced model's forward pass with sympy exp/softmax, differentiate
∂_β ∂_{A1[i,j]} at A1 = 0, β = 0 (no closed form used).  Closed-form side:
theory.laws.pairwise_joints, theory.gradients.likelihood_ratio_from_joint and
attention_gradient_from_N on object arrays.  Both in the field QQ(p, q), whose
elements are reduced fractions (what sympy.cancel returns).  measured = number
of entries of the difference that are not identically 0, over the 4 cases.
""",
    kind="theorem",
    measured="entries of g_autograd - g_closed not identically 0 in QQ(p, q), over 4 cases",
    direction="<=",
    tolerance=0,
    reference=REFERENCES["causal.symbolic_gradient"],
    parameters={"n": N_CONTEXT},
    quick=True,
    proof_idea="""
At A1 = 0 the layer-2 weights are b = 1/T + O(β) and ∂h_i/∂A1[i, j] = (e_{x_j} - h_i)/(i+1);
expanding to first order in β leaves g[i, j] = -1/(T(i+1)) E[(w_i - w̄)(1[x_j = x_n] - h_i[x_n])]
with w_m = y(x_m)/μ_π(x_m), and the uniform independent query turns each
expectation into S^{-1} N[m, j].  The symbolic check confirms the algebra,
for either root law, without trusting any step of it.
""",
)
def check_symbolic_gradient(profile: Profile) -> Outcome:
    nonzero = 0
    details: dict = {}
    for name, graph in _graphs(profile).items():
        for roots in ROOT_LAWS:
            result = prove_initial_gradient(graph, roots)
            nonzero += len(result.nonzero)
            details[f"{name}, {roots} roots"] = (
                "identically 0" if result.proved
                else {f"g[{i}, {j}]": str(result.difference[i, j]) for i, j in result.nonzero})
            if name == "chain" and roots == "stationary":
                details["g[1, 0] (chain, stationary roots)"] = str(sp.factor(result.details["closed_form"][1, 0]))
    return Outcome(measured=nonzero, details=details)


@claim(
    "causal.symbolic_chi2_parent",
    formulas=("theory.gradients.likelihood_ratio_from_joint",),
    paper="causal",
    statement="""
For every non-root position i, N[i, p(i)] = 1 + I_χ²(x_i; x_{p(i)}), with
I_χ²(X; Y) = Σ_{x,y} P(x, y)² / (P(x) P(y)) - 1, identically in π.
""",
    hypotheses="""
Stationary roots (x_root ~ μ_π); S = 2, π = [[1-p, p], [q, 1-q]] with symbolic
p, q > 0; fixed π; n = 3; graphs: the Markov chain and icl_pairs(3).  Also run
under uniform roots, outside the hypotheses, where the identity is expected to
fail: the details record the non-zero differences.
""",
    method="""
N[i, p(i)] from theory.gradients.likelihood_ratio_from_joint (object arrays);
the joint law of (x_i, x_{p(i)}) by summing the symbolic probabilities of all
sequences; I_χ² from that joint; difference reduced in QQ(p, q).
measured = number of children i whose difference is not identically 0 under
stationary roots (both graphs).
""",
    kind="theorem",
    measured="children i whose N[i, p(i)] - 1 - I_χ² is not identically 0 (stationary roots, both graphs)",
    direction="<=",
    tolerance=0,
    reference=REFERENCES["causal.symbolic_chi2_parent"],
    parameters={"n": N_CONTEXT},
    quick=True,
    proof_idea="""
Under stationary roots every x_i has law μ_π and P(x_{p(i)} = c, x_i = a) = μ(c) π(c, a), so both
N[i, p(i)] = Σ_{c,a} μ(c) π(c, a) · π(c, a)/μ(a) and 1 + I_χ² = Σ_{c,a} (μ(c) π(c, a))² / (μ(c) μ(a))
equal Σ_{c,a} μ(c) π(c, a)² / μ(a).  Under uniform roots the marginals are not μ_π
(N divides by μ_π, I_χ² by the true marginals), so the identity breaks.
""",
)
def check_symbolic_chi2_parent(profile: Profile) -> Outcome:
    failures = 0
    details: dict = {}
    for name, graph in _graphs(profile).items():
        stationary = prove_chi2_parent_identity(graph, "stationary")
        failures += len(stationary.nonzero)
        details[f"{name}, stationary roots"] = (
            "identically 0" if stationary.proved
            else {f"i = {i}": str(stationary.difference[i, 0]) for i, _ in stationary.nonzero})
        uniform = prove_chi2_parent_identity(graph, "uniform")
        details[f"{name}, uniform roots (outside the hypotheses)"] = (
            "identically 0 (unexpected)" if uniform.proved
            else {f"N[{i}, p({i})] - 1 - I_χ²": {"difference": str(sp.factor(uniform.difference[i, 0])),
                                                  f"at p = {WITNESS[p]}, q = {WITNESS[q]}":
                                                      str(uniform.difference[i, 0].subs(WITNESS))}
                  for i, _ in uniform.nonzero})
    return Outcome(measured=failures, details=details)
