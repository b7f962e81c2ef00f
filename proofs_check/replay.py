"""Replay a saved counterexample: ``proofs-check replay FILE``.

A case file, written by the report under ``counterexamples/``, reads
``{"claim": id, "seed": ..., "case": {...}}``.  Replaying it looks the claim
up in the registry and calls its replay hook (``Claim.replay``, see the
registry's docstring) on ``case``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proofs_check import registry

__all__ = ["ReplayError", "Case", "load_case", "find_replay_hook"]


class ReplayError(Exception):
    """The case cannot be replayed; the message is one line for the user."""


@dataclass
class Case:
    claim: str
    case: dict[str, Any]
    seed: int | None = None
    profile: str | None = None
    path: str = ""
    verdict: str = "refuted"  # the verdict recorded with the case (a counterexample: refuted)


def load_case(path: str | Path) -> Case:
    """Read and validate one counterexample file."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise ReplayError(f"replay file {str(p)!r} does not exist") from None
    except IsADirectoryError:
        raise ReplayError(f"replay file {str(p)!r} is a folder, expected a counterexample .json file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReplayError(f"cannot read replay file {str(p)!r}: {reason}") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayError(f"replay file {str(p)!r} is not valid JSON: {exc.msg} "
                          f"at line {exc.lineno} column {exc.colno}") from None
    expected = 'expected {"claim": ID, "seed": N, "case": {...}}'
    if not isinstance(record, dict):
        raise ReplayError(f"replay file {str(p)!r} holds a JSON {type(record).__name__}; {expected}")
    missing = [k for k in ("claim", "case") if k not in record]
    if missing:
        raise ReplayError(f"replay file {str(p)!r} lacks {' and '.join(repr(k) for k in missing)}; {expected}")
    if not isinstance(record["claim"], str):
        raise ReplayError(f"replay file {str(p)!r}: 'claim' must be a claim id string; {expected}")
    if not isinstance(record["case"], dict):
        raise ReplayError(f"replay file {str(p)!r}: 'case' must be a JSON object; {expected}")
    seed = record.get("seed")
    verdict = record.get("verdict", "refuted")
    if verdict not in ("holds", "refuted", "inconclusive", "error"):
        raise ReplayError(f"replay file {str(p)!r}: 'verdict' must be holds, refuted, inconclusive or error, "
                          f"got {verdict!r}")
    return Case(record["claim"], record["case"], seed if isinstance(seed, int) else None,
                record.get("profile"), str(p), verdict)


def find_replay_hook(case: Case, claims: dict[str, registry.Claim] | None = None) -> registry.Claim:
    """The registered claim the case names, provided it has a replay hook."""
    claims = registry.all_claims() if claims is None else claims
    if case.claim not in claims:
        raise ReplayError(f"replay file {case.path!r} names claim {case.claim!r}, which is not registered; "
                          f"see 'proofs-check list'")
    found = claims[case.claim]
    if found.replay is None:
        raise ReplayError(f"claim {case.claim!r} has no replay hook, so its cases cannot be replayed "
                          f"(add one with @claim(..., replay=...))")
    return found
