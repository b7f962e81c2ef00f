"""From measurements to a verdict: the one place where a claim's contract is applied.

A check returns an :class:`~proofs_check.registry.Outcome` of measurements;
:func:`judge` compares the measured value with the claim's tolerance in the
claim's direction and every declared condition with its bound, and returns

- ``holds``: every test is satisfied;
- ``refuted``: some test fails (the reason names each failing test, and the
  outcome's counterexamples are the evidence);
- ``inconclusive``: the conditions hold, but the measured value is a Monte
  Carlo estimate whose 95% interval ``measured ± 1.96·stderr`` contains the
  tolerance (the reason says how many more samples would decide, from
  ``stderr ∝ 1/√samples``);
- ``error``: a measurement is missing, not a number, or not finite, or a
  premise (a test of the measurement's validity) fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from proofs_check.registry import Claim, Outcome

__all__ = ["Z_95", "Z_LIMIT", "z_level", "Test", "Judgement", "compare", "judge", "requirement"]

Z_95 = 1.959963984540054  # two-sided 95% normal quantile
#: the z-level of every Monte Carlo decision (a z-score's bound): two-sided 7e-6 per test, so a claim's family
#: of up to about 15 z-tests stays below a 1e-4 family-wise level.  A claim with another level says why, with
#: :func:`z_level`.
Z_LIMIT = 4.5


def z_level(z: float, *, reason: str) -> float:
    """A claim's own z-level instead of :data:`Z_LIMIT`, with the ``reason`` (read by the contract lints)."""
    if not (isinstance(z, (int, float)) and z > 0) or not (isinstance(reason, str) and reason.strip()):
        raise ValueError(f"z_level: expected a positive level and a reason, got {z!r}, {reason!r}")
    return float(z)


@dataclass(frozen=True)
class Test:
    """One comparison of the contract: ``value op bound``."""

    name: str
    value: Any
    op: str
    bound: Any
    ok: bool
    role: str = "measured"  # "measured", "condition" or "premise"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "value": self.value, "op": self.op, "bound": self.bound,
                "ok": self.ok}

    def describe(self) -> str:
        return f"{self.name} = {_short(self.value)}, required {self.op} {_short(self.bound)}"


@dataclass(frozen=True)
class Judgement:
    verdict: str  # "holds", "refuted", "inconclusive" or "error"
    tests: list[Test] = field(default_factory=list)
    reason: str = ""


def _short(x: Any) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, (int, float)):
        return f"{x:.4g}" if isinstance(x, float) else str(x)
    return str(x)


def compare(value: Any, op: str, bound: Any) -> bool:
    """``value op bound`` for the operators of the contract."""
    if op == "<=":
        return value <= bound
    if op == ">=":
        return value >= bound
    if op == "<":
        return value < bound
    if op == ">":
        return value > bound
    if op == "==":
        return value == bound
    raise ValueError(f"op: expected one of <=, >=, <, >, ==, got {op!r}")


def _number(value: Any) -> tuple[Any, str]:
    """``(value as a Python bool/int/float, "")`` or ``(None, why it is not a finite number)``."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value), ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None, f"is not a number ({type(value).__name__})"
    if not math.isfinite(x):
        return None, f"is not finite ({x})"
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return int(value), ""
    return x, ""


def judge(claim: Claim, outcome: Outcome) -> Judgement:
    """The verdict of ``outcome`` under ``claim``'s contract (direction, tolerance, conditions)."""
    measured, why = _number(outcome.measured)
    if measured is None or isinstance(measured, bool):
        return Judgement("error", reason=f"the measured value ({claim.measured}) "
                                         f"{why or 'is a bool, expected a number'}")
    tests = [Test(claim.measured, measured, claim.direction, claim.tolerance,
                  compare(measured, claim.direction, claim.tolerance))]
    for role, declared, reported in (("condition", claim.conditions, outcome.conditions),
                                     ("premise", claim.premises, outcome.premises)):
        undeclared = sorted(set(reported) - set(declared))
        if undeclared:
            return Judgement("error", tests, f"the check reported undeclared {role}(s) {', '.join(undeclared)}")
        for name, (op, bound) in declared.items():
            if name not in reported:
                return Judgement("error", tests, f"the check did not report {role} {name!r}")
            value, why = _number(reported[name])
            if value is None:
                return Judgement("error", tests, f"{role} {name} {why}")
            tests.append(Test(name, value, op, bound, compare(value, op, bound), role))
    broken = [t for t in tests if t.role == "premise" and not t.ok]
    if broken:
        return Judgement("error", tests, "premise failed, so the measurement is no evidence: "
                         + "; ".join(t.describe() for t in broken))
    failing = [t for t in tests if not t.ok]
    if all(t.ok for t in tests if t.role == "condition") and outcome.stderr is not None:
        inconclusive = _straddles(measured, claim.tolerance, outcome.stderr, outcome.samples)
        if inconclusive:
            return Judgement("inconclusive", tests, inconclusive)
    if failing:
        return Judgement("refuted", tests, "; ".join(t.describe() for t in failing))
    return Judgement("holds", tests, "")


def requirement(claim: Claim) -> str:
    """The claim's tests in words: ``measured <= 1e-08; condition == 0`` (what makes the property hold)."""
    parts = [f"{claim.measured} {claim.direction} {_short(claim.tolerance)}"]
    parts += [f"{name} {op} {_short(bound)}" for name, (op, bound) in claim.conditions.items()]
    return "; ".join(parts)


def _straddles(measured: float, tolerance: float, stderr: Any, samples: int | None) -> str:
    """A reason when ``measured ± 1.96·stderr`` contains ``tolerance``, else ``""``."""
    se, why = _number(stderr)
    if se is None or se <= 0:
        return ""
    half = Z_95 * se
    if abs(measured - tolerance) > half:
        return ""
    interval = f"95% interval [{measured - half:.4g}, {measured + half:.4g}] contains the tolerance {tolerance:.4g}"
    if measured == tolerance:
        return f"{interval}; the estimate sits on the tolerance, no sample size decides it"
    factor = (half / abs(measured - tolerance)) ** 2
    if samples:
        more = math.ceil(samples * (factor - 1.0))
        return f"{interval}; about {more} more samples ({factor:.2g}× the {samples} used) would decide it"
    return f"{interval}; about {factor:.2g}× as many samples would decide it"
