"""Run claims and collect verdicts.

:func:`run_claim` resolves the claim's declared parameters for the profile
(with command-line overrides), runs its check, and judges the measurements
with :func:`proofs_check.verdicts.judge`.  A result's ``status`` is
``"pass"`` iff the verdict is the one the claim's kind expects (a theorem
holds; a boundary or a finding is refuted), ``"error"`` when the check
raised or measured nothing usable, and ``"fail"`` otherwise.
"""

from __future__ import annotations

import contextlib
import fnmatch
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from numerics.runtime import progress_lines
from proofs_check.registry import Claim, Outcome, Param, Profile, run_units_serially
from proofs_check.verdicts import Judgement, Test, judge

__all__ = ["Result", "run_claim", "error_result", "judged_result", "select", "parse_overrides",
           "parse_value", "run_claims", "result_from_record", "jsonl_record", "read_jsonl", "cut_short_line"]


@dataclass
class Result:
    claim: Claim
    verdict: str  # "holds", "refuted", "inconclusive" or "error"
    measured: float | None
    seconds: float
    outcome: Outcome | None = None
    error: str = ""
    tests: list[Test] = field(default_factory=list)
    reason: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    unit_seconds: list[float] = field(default_factory=list)  # a unit claim's time per unit, in unit order

    @property
    def expected(self) -> str:
        return self.claim.expected

    @property
    def status(self) -> str:
        """``pass`` iff the verdict is the expected one; ``error`` if the check raised; else ``fail``."""
        if self.verdict == self.expected:
            return "pass"
        return "error" if self.verdict == "error" else "fail"

    def explanation(self) -> str:
        """Why the verdict is not the expected one (empty when it is)."""
        if self.status == "pass":
            return ""
        if self.verdict == "error":
            return self.reason or self.error.splitlines()[0]
        if self.verdict == "holds":
            what = {"boundary": "the search found no counterexample", "finding": "the refuted statement now holds"}
            met = "; ".join(t.describe() for t in self.tests)
            return f"{what[self.claim.kind]}: {met}"
        return self.reason

    def as_json(self) -> dict[str, Any]:
        c = self.claim
        out = {
            "id": c.id,
            "paper": c.paper,
            "kind": c.kind,
            "verdict": self.verdict,
            "expected": self.expected,
            "status": self.status,
            "measured": self.measured,
            "measured_quantity": c.measured,
            "direction": c.direction,
            "tolerance": c.tolerance,
            "tests": [t.as_json() for t in self.tests],
            "reason": self.explanation() or self.reason,
            "reference": c.paper_reference,
            "parameters": self.parameters,
            "seconds": round(self.seconds, 3),
        }
        if self.unit_seconds:
            out["unit_seconds"] = [round(t, 3) for t in self.unit_seconds]
        if self.outcome is not None:
            out["details"] = self.outcome.details
            out["counterexamples"] = self.outcome.counterexamples
            if self.outcome.stderr is not None:
                out["stderr"] = self.outcome.stderr
        if self.error:
            out["error"] = self.error
        return out


def run_claim(claim: Claim, profile: Profile, overrides: Mapping[str, Any] | None = None) -> Result:
    """Run one claim at ``profile`` with its parameters resolved (``overrides`` applied where declared).

    A unit claim (``claim.units``) runs its units in order, timing each, then its reduce.  An exception in
    the check becomes the verdict ``error`` with its message.
    """
    params = claim.resolve(profile.name, overrides)
    resolved = Profile(profile.name, profile.seed, params, profile.device)
    start = time.perf_counter()
    unit_seconds: list[float] = []

    def check() -> Outcome:
        if claim.units is None:
            return claim.check(resolved)
        return run_units_serially(claim.units, claim.reduce, resolved, unit_seconds)

    # the paper profile's training runs take minutes to hours: their loops print a progress line every 30 s
    lines = progress_lines() if profile.name == "paper" else contextlib.nullcontext()
    try:
        with lines:
            outcome = check()
    except Exception as exc:  # a crashing check is reported, not propagated
        return error_result(claim, exc, time.perf_counter() - start, params)
    return judged_result(claim, outcome, time.perf_counter() - start, params, unit_seconds)


def error_result(claim: Claim, exc: BaseException, seconds: float, params: Mapping[str, Any]) -> Result:
    """The ``error`` result of a check (or one of its units) that raised ``exc``."""
    return Result(claim, "error", None, seconds,
                  error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}",
                  reason=f"the check raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                  parameters=dict(params))


def judged_result(claim: Claim, outcome: Outcome, seconds: float, params: Mapping[str, Any],
                  unit_seconds: list[float] | None = None) -> Result:
    """The :class:`Result` of ``outcome`` judged under the claim's contract."""
    judgement: Judgement = judge(claim, outcome)
    measured = judgement.tests[0].value if judgement.tests else None
    return Result(claim, judgement.verdict, measured, seconds, outcome, tests=judgement.tests,
                  reason=judgement.reason, parameters=dict(params), unit_seconds=list(unit_seconds or []))


def select(claims: dict[str, Claim], profile: Profile, ids: Iterable[str] | None = None) -> list[Claim]:
    """Claims to run: the named ``ids`` in registry order, else the profile's.

    An id may be a shell-style pattern (``causal.train_*``); a name or pattern that
    matches no claim raises ``ValueError``.  Named claims run whatever the profile.
    """
    if ids:
        unknown = [i for i in ids if not any(fnmatch.fnmatchcase(c, i) for c in claims)]
        if unknown:
            raise ValueError(f"claim: unknown claim id(s) {', '.join(unknown)}; see 'proofs-check list'")
        return [c for cid, c in claims.items() if any(fnmatch.fnmatchcase(cid, i) for i in ids)]
    return [c for c in claims.values() if c.quick or not profile.quick]


def parse_overrides(assignments: Iterable[str], selected: list[Claim]) -> dict[str, Any]:
    """``["n=39", "nu=50,100"]`` -> typed values, each typed by the declaring claims' :class:`Param`.

    Raises ``ValueError`` (message starting with ``param``) for a malformed
    assignment, a name no selected claim declares, or a value of the wrong type.
    """
    declared: dict[str, list[Param]] = {}
    for c in selected:
        for name, p in c.parameters.items():
            declared.setdefault(name, []).append(p)
    out: dict[str, Any] = {}
    for text in assignments:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"param: expected NAME=VALUE, got {text!r}")
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ValueError(f"param: {name!r} is not a parameter of the selected claims (declared: {known})")
        out[name] = parse_value(name, raw.strip(), declared[name][0].full)
    return out


def parse_value(name: str, raw: str, like: Any) -> Any:
    """``raw`` read with the type of ``like`` (a tuple reads comma-separated items)."""
    if isinstance(like, tuple):
        item = like[0] if like else raw
        return tuple(parse_value(name, part.strip(), item) for part in raw.split(",") if part.strip())
    try:
        if isinstance(like, bool):
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return raw.lower() in ("true", "1")
        if isinstance(like, int):
            return int(raw)
        if isinstance(like, float):
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
    except ValueError:
        raise ValueError(f"param: {name} expects a finite {type(like).__name__}, got {raw!r}") from None
    return raw


def run_claims(selected: list[Claim], profile: Profile,
               on_result: Callable[[Result], None] | None = None,
               overrides: Mapping[str, Any] | None = None,
               on_start: Callable[[Claim], None] | None = None,
               stop: Callable[[Result], bool] | None = None) -> list[Result]:
    """Run ``selected`` in order in this process; ``on_start``/``on_result`` are called around each claim,
    and the run ends early after the first result for which ``stop(result)`` is true."""
    results = []
    for claim in selected:
        if on_start is not None:
            on_start(claim)
        result = run_claim(claim, profile, overrides)
        results.append(result)
        if on_result is not None:
            on_result(result)
        if stop is not None and stop(result):
            break
    return results


def result_from_record(record: Mapping[str, Any], claim: Claim) -> Result:
    """The :class:`Result` whose :meth:`Result.as_json` is ``record`` (a line of a ``--jsonl`` file).

    Everything the table, the ``--json`` record and the report read comes back;
    the figure does not (it was never recorded), so a resumed claim has none.
    """
    if record.get("id") != claim.id:
        raise ValueError(f"record: expected a record of {claim.id!r}, got one of {record.get('id')!r}")
    tests = [Test(t["name"], t["value"], t["op"], t["bound"], bool(t["ok"]), t.get("role", "measured"))
             for t in record.get("tests", [])]
    outcome = None
    if "details" in record:
        outcome = Outcome(measured=record.get("measured"), details=dict(record.get("details") or {}),
                          counterexamples=list(record.get("counterexamples") or []),
                          stderr=record.get("stderr"))
    return Result(claim, record["verdict"], record.get("measured"), float(record.get("seconds", 0.0)), outcome,
                  error=record.get("error", ""), tests=tests, reason=record.get("reason", ""),
                  parameters=dict(record.get("parameters") or {}),
                  unit_seconds=[float(t) for t in record.get("unit_seconds", [])])


def jsonl_record(result: Result, profile: Profile) -> str:
    """One line of a ``--jsonl`` results file: :meth:`Result.as_json` with the run's ``profile``, ``seed`` and
    ``device``."""
    import json

    from proofs_check.markdown import jsonable, string_keys

    record = {"profile": profile.name, "seed": profile.seed, "device": profile.device, **result.as_json()}
    return json.dumps(string_keys(record), default=jsonable)


def read_jsonl(path: str) -> list[dict[str, Any]]:
    """The records of a ``--jsonl`` file, in file order.

    A record is a line with its newline (a run writes both in one call).  Text
    after the last newline is a line cut short, the run killed while writing
    it: it is no record (:func:`cut_short_line` names it; a resumed run cuts it
    off before appending).  Any whole line that is not a JSON object of a claim
    raises ``ValueError``.
    """
    import json

    with open(path) as fh:
        whole = fh.read().rpartition("\n")[0]
    records = []
    for k, line in enumerate(whole.split("\n") if whole else [], start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "id" not in record or "verdict" not in record:
                raise ValueError("not a claim record")
        except ValueError:
            raise ValueError(f"line {k} is not a claim record of proofs-check run --jsonl") from None
        records.append(record)
    return records


def cut_short_line(path: str, drop: bool = False) -> str:
    """The text after the last newline of a ``--jsonl`` file: a line cut short ('' when there is none).

    With ``drop``, the file is cut back to its last whole line, so that a resumed
    run appends its first record on a line of its own instead of gluing it to
    the fragment (which would spoil both records).
    """
    with open(path, "rb+" if drop else "rb") as fh:
        data = fh.read()
        keep = data.rfind(b"\n") + 1
        if drop and keep < len(data):
            fh.truncate(keep)
    return data[keep:].decode(errors="replace")
