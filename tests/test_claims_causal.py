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
        claim = all_claims()[cid]
        outcome = claim.check(Profile("quick", seed=0, params=claim.resolve("quick")))
        assert outcome.counterexamples and outcome.counterexamples[0]["violation"] > 1e-6


def test_every_counterexample_of_the_quick_theory_claims_replays(tmp_path):
    """Each saved case reproduces its recorded verdict through the command line (exit 0)."""
    import json
    import subprocess
    import sys

    claims = all_claims()
    replayed = 0
    for cid in THEORY_CLAIMS:
        outcome = claims[cid].check(Profile("quick", seed=0, params=claims[cid].resolve("quick")))
        for k, case in enumerate(outcome.counterexamples):
            assert claims[cid].replay is not None, f"{cid} saves a case it cannot replay"
            path = tmp_path / f"{cid}-{k}.json"
            path.write_text(json.dumps({"claim": cid, "seed": 0, "verdict": "refuted", "case": case}))
            done = subprocess.run([sys.executable, "-m", "proofs_check", "replay", str(path)],
                                  capture_output=True, text=True)
            assert done.returncode == 0, (cid, done.stdout, done.stderr)
            assert "still violates the claimed property" in done.stdout
            replayed += 1
    assert replayed >= 3  # the two boundary searches and the Shannon counterexample at least
