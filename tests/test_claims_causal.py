"""Every quick claim of the causal-structure paper's exact theory passes (training claims have their own tests)."""

import pytest

from proofs_check.registry import Profile, all_claims
from proofs_check.runner import run_claim

THEORY_CLAIMS = sorted(cid for cid, c in all_claims().items()
                       if c.paper == "causal" and c.quick and not cid.startswith("causal.train_"))


def test_the_core_claims_are_registered():
    expected = {"causal.pairwise_joint", "causal.mutual_information_matrix", "causal.data_processing",
                "causal.initial_gradient_autograd", "causal.edge_ranking", "causal.cross_entropy_vs_linearized",
                "causal.chi2_information_psd", "causal.shannon_information_not_psd"}
    assert expected <= set(THEORY_CLAIMS)


@pytest.mark.parametrize("claim_id", THEORY_CLAIMS)
def test_quick_claim_passes(claim_id):
    result = run_claim(all_claims()[claim_id], Profile("quick", seed=0))
    assert result.status == "pass", (result.measured, result.error, result.outcome and result.outcome.details)


def test_boundary_searches_report_their_counterexamples():
    for cid in ("causal.edge_ranking_uniform_roots_boundary", "causal.data_processing_mixture_boundary"):
        outcome = all_claims()[cid].check(Profile("quick", seed=0))
        assert outcome.counterexamples and outcome.counterexamples[0]["violation"] > 1e-6


def test_boundary_counterexamples_replay(tmp_path):
    import json
    import subprocess
    import sys

    claims = all_claims()
    for cid in ("causal.edge_ranking_uniform_roots_boundary", "causal.data_processing_mixture_boundary"):
        case = claims[cid].check(Profile("quick", seed=0)).counterexamples[0]
        replayed = claims[cid].replay(case)
        assert replayed.passed and replayed.measured > 1e-6
        path = tmp_path / f"{cid}.json"
        path.write_text(json.dumps({"claim": cid, "seed": 0, "case": case}))
        done = subprocess.run([sys.executable, "-m", "proofs_check", "replay", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
