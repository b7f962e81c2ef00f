"""The verdict rules of proofs_check.verdicts, and the claim contract over every registered claim."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from proofs_check import registry
from proofs_check.registry import Claim, Outcome, Param
from proofs_check.verdicts import judge


def _claim(kind="theorem", direction="<=", tolerance=1.0, conditions=None, premises=None) -> Claim:
    return Claim("t.x", "causal", kind, "s", "h", "m", "q", direction, tolerance, lambda p: None,
                 conditions or {}, premises or {})


@pytest.mark.parametrize("direction, measured, verdict", [
    ("<=", 0.5, "holds"), ("<=", 1.0, "holds"), ("<=", 1.5, "refuted"),
    (">=", 1.5, "holds"), (">=", 1.0, "holds"), (">=", 0.5, "refuted"),
])
def test_direction(direction, measured, verdict):
    assert judge(_claim(direction=direction), Outcome(measured)).verdict == verdict


def test_conditions_are_part_of_the_property_and_named_in_the_reason():
    c = _claim(conditions={"mismatches": ("==", 0), "z": ("<=", 4.0)})
    assert judge(c, Outcome(0.1, conditions={"mismatches": 0, "z": 1.0})).verdict == "holds"
    j = judge(c, Outcome(0.1, conditions={"mismatches": 2, "z": 1.0}))
    assert j.verdict == "refuted" and "mismatches = 2, required == 0" in j.reason
    assert judge(c, Outcome(0.1, conditions={"mismatches": 0})).verdict == "error"  # z missing
    assert judge(c, Outcome(0.1, conditions={"mismatches": 0, "z": 1.0, "w": 3})).verdict == "error"


def test_premise_failure_is_no_evidence_even_for_a_boundary():
    c = _claim(kind="boundary", premises={"oracle_agrees": ("==", True)})
    assert judge(c, Outcome(5.0, premises={"oracle_agrees": True})).verdict == "refuted"
    j = judge(c, Outcome(5.0, premises={"oracle_agrees": False}))
    assert j.verdict == "error" and "premise failed" in j.reason


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "x", None])
def test_non_finite_measurements_are_errors(value):
    assert judge(_claim(), Outcome(value)).verdict == "error"
    assert judge(_claim(conditions={"c": ("<=", 1)}), Outcome(0.0, conditions={"c": value})).verdict == "error"


def test_inconclusive_when_the_interval_straddles_the_tolerance():
    c = _claim(tolerance=0.0)
    j = judge(c, Outcome(-0.1, stderr=0.1, samples=1000))
    assert j.verdict == "inconclusive"
    # (1.96 * 0.1 / 0.1)^2 = 3.84x the samples: about 2,841 more
    assert "2842 more samples" in j.reason or "2841 more samples" in j.reason
    assert judge(c, Outcome(-0.5, stderr=0.1)).verdict == "holds"
    assert judge(c, Outcome(0.5, stderr=0.1)).verdict == "refuted"


# --------------------------------------------------------------------------- the real registry
CLAIMS = registry.all_claims()


@pytest.mark.parametrize("claim_id", sorted(CLAIMS))
def test_every_claim_declares_the_contract(claim_id):
    c = CLAIMS[claim_id]
    assert c.kind in registry.CLAIM_KINDS and c.direction in registry.DIRECTIONS
    assert c.measured and c.reference, "a claim names its measured quantity and its place in the paper"
    assert math.isfinite(c.tolerance)
    assert c.parameters and all(isinstance(p, Param) for p in c.parameters.values())
    if c.kind != "theorem":
        assert c.expected == "refuted"


def _claim_sources() -> list[Path]:
    return sorted((Path(__file__).resolve().parents[1] / "proofs_check" / "claims").glob("*.py"))


@pytest.mark.parametrize("path", _claim_sources(), ids=lambda p: p.name)
def test_no_check_body_computes_its_own_pass_flag(path):
    """A check returns measurements; the runner judges them.  No `passed` name or keyword anywhere."""
    tree = ast.parse(path.read_text())
    offenders = [node.lineno for node in ast.walk(tree)
                 if (isinstance(node, ast.keyword) and node.arg == "passed")
                 or (isinstance(node, ast.Name) and node.id == "passed")
                 or (isinstance(node, ast.Attribute) and node.attr == "passed")]
    assert not offenders, f"{path.name} computes a pass flag at lines {offenders}"
    assert "passed" not in Outcome.__dataclass_fields__
