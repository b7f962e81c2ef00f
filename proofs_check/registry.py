"""The claims registry.

A claim is one statement of a paper with its exact hypotheses, the method that
checks it, a tolerance, and a check function.  The check function receives a
:class:`Profile` and returns an :class:`Outcome`; the verdict is the
``Outcome.passed`` flag it computes by comparing the measured value with the
tolerance (so every check can fail).

Claims register themselves with the :func:`claim` decorator when their module
under ``proofs_check.claims`` is imported; :func:`all_claims` imports every
such module.

Replay hooks
------------
A property search that finds a case outside a claim's hypotheses puts it in
``Outcome.counterexamples`` as a small JSON-serialisable dict.  The report
saves each one as ``counterexamples/<claim-id>-<k>.json`` holding
``{"claim": id, "seed": ..., "case": {...}}``, and
``proofs-check replay FILE`` calls the claim's replay hook on ``case`` and
prints what it returns.  A claim provides the hook with the ``replay``
keyword of :func:`claim`; the hook takes the case dict and returns an
:class:`Outcome` for that one case (or any JSON-serialisable value)::

    def replay_dpi_case(case: dict) -> Outcome:
        # Recompute the claimed inequality on exactly this case.
        gap = dpi_gap(np.asarray(case["pi"]), case["edges"])
        return Outcome(measured=gap, passed=gap >= 0, details={"gap": gap})

    @claim("causal.dpi-edges-largest", paper="causal", ..., replay=replay_dpi_case)
    def check_dpi_edges_largest(profile: Profile) -> Outcome:
        ...
        return Outcome(measured=..., passed=...,
                       counterexamples=[{"pi": pi.tolist(), "edges": edges}])

Keep cases small (hypothesis shrinks them) and made of plain numbers, lists
and strings, so the JSON file is the whole record of the case.  For the same
seed to give the same case, seed the search from the profile and keep
hypothesis's example database out of it, e.g.
``hypothesis.find(strategy, violates, settings=settings(database=None),
random=random.Random(profile.seed))`` returns the shrunk case.  A claim
without a hook can still report counterexamples; replaying one of its files
is refused with a one-line error.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

PAPERS = {
    "causal": "How Transformers Learn Causal Structure with Gradient Descent (Nichani, Damian, Lee, 2024)",
    "autoregressive": "How do Transformers perform In-Context Autoregressive Learning? (Sander et al., 2024)",
}


@dataclass(frozen=True)
class Profile:
    """How hard a run checks: ``quick`` (small sizes, < 2 min in all) or ``full``."""

    name: str = "quick"
    seed: int = 0

    @property
    def quick(self) -> bool:
        return self.name == "quick"

    def rng(self, salt: int | str = 0) -> np.random.Generator:
        """A generator determined by the profile's seed and a per-claim salt."""
        if isinstance(salt, str):
            salt = int.from_bytes(salt.encode(), "little") % (2**32)
        return np.random.default_rng([self.seed, salt])


@dataclass
class Outcome:
    """What a check measured.

    ``measured`` is the number compared with the claim's tolerance (an error,
    a gap, a count of counterexamples...).  ``details`` holds anything worth
    reporting (a rate, the worst case); ``counterexamples`` holds small
    JSON-serialisable cases found by searches outside the hypotheses;
    ``figure`` is an optional callable ``figure(path)`` that writes a PNG.
    """

    measured: float
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    counterexamples: list[dict[str, Any]] = field(default_factory=list)
    figure: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    statement: str
    hypotheses: str
    method: str
    tolerance: float
    check: Callable[[Profile], Outcome]
    quick: bool = True
    proof_idea: str = ""
    replay: Callable[[dict[str, Any]], Any] | None = None


_REGISTRY: dict[str, Claim] = {}


def claim(
    id: str,
    *,
    paper: str,
    statement: str,
    hypotheses: str,
    method: str,
    tolerance: float,
    quick: bool = True,
    proof_idea: str = "",
    replay: Callable[[dict[str, Any]], Any] | None = None,
) -> Callable[[Callable[[Profile], Outcome]], Callable[[Profile], Outcome]]:
    """Register ``check`` as the check of claim ``id``.

    ``quick=False`` keeps the claim out of the quick profile.  ``replay``
    is the optional hook that re-checks one saved counterexample case (see
    the module docstring).
    """
    if paper not in PAPERS:
        raise ValueError(f"paper: expected one of {sorted(PAPERS)}, got {paper!r}")

    def register(check: Callable[[Profile], Outcome]) -> Callable[[Profile], Outcome]:
        if id in _REGISTRY:
            raise ValueError(f"id: claim {id!r} is registered twice")
        _REGISTRY[id] = Claim(id, paper, statement.strip(), hypotheses.strip(), method.strip(),
                              float(tolerance), check, quick, proof_idea.strip(), replay)
        return check

    return register


def all_claims() -> dict[str, Claim]:
    """Every registered claim, importing each module of ``proofs_check.claims``."""
    from proofs_check import claims as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(_REGISTRY)
