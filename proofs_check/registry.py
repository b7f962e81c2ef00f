"""The claims registry: one contract for every claim.

A claim is one statement of a paper with its exact hypotheses, the method that
checks it, and, as data the runner reads, everything that decides its verdict:

- ``kind``: ``"theorem"`` (a statement of a paper, expected to hold),
  ``"boundary"`` (a search outside a stated hypothesis, expected to find a
  counterexample) or ``"finding"`` (a statement of a paper that the toolkit
  shows false in a stated setting, expected to stay refuted);
- ``measured``, ``direction`` and ``tolerance``: the property holds when the
  measured quantity is ``<=`` (or ``>=``) the tolerance;
- ``conditions``: every further part of the property, ``name -> (operator, bound)``;
- ``premises``: tests of the measurement's own validity (an oracle agrees, a
  counterexample is confirmed by brute force), ``name -> (operator, bound)``;
  a failed premise makes the verdict ``error``: the measurement is no evidence
  either way, whatever the kind;
- ``parameters``: sizes, seeds and hyperparameters with their quick and full
  values (:class:`Param`), overridable from the command line;
- ``reference``: the theorem, lemma, section or figure of the paper;
- ``formulas``: the dotted names of the closed forms the claim checks
  (``theory.gradients.attention_gradient_at_init``), so that
  ``proofs-check where NAME`` finds every claim that checks a formula.

The check function receives a :class:`Profile` (its ``params`` are the
resolved parameters) and returns an :class:`Outcome` of measurements only:
the runner, not the check, turns them into a verdict (``holds``,
``refuted``, ``inconclusive`` or ``error``; see :mod:`proofs_check.verdicts`).
The direction and tolerance always describe the paper's property, whatever
the kind, so a ``finding`` or a ``boundary`` is expected to be ``refuted``.

Units of work
-------------
A check that is a map over independent pieces (graphs, seeds, restarts, sizes) declares them, and the
schedulers (``-j N``, ``--scheduler``, ``sweep``) run the pieces, not the claim, as their tasks::

    def graph_units(profile: Profile) -> list[int]:         # small, picklable unit keys
        return list(range(profile.params["graphs"]))

    def train_graph(profile: Profile, k: int) -> dict:     # one unit: randomness from unit_rng(id, k) only
        return {...}                                        # small, picklable measurements

    @claim("causal.many_graphs", ..., units=Units(graph_units, train_graph))
    def check_many_graphs(profile: Profile, measurements: list[dict]) -> Outcome:
        ...                                                 # the reduce: measurements in unit order

A serial run is the loop ``reduce(profile, [measure(profile, u) for u in split(profile)])`` (the
claim's ``check``), so every scheduler gives the same record as a serial run with the same seed.

Claims register themselves with the :func:`claim` decorator when their module
is imported; :func:`all_claims` imports every module of ``proofs_check.claims``,
every module an installed package names in the entry-point group
``proofs_check.claims`` (:data:`ENTRY_POINT_GROUP`), and every module of the
environment variable ``PROOFS_CHECK_PLUGINS`` (comma-separated; what
``proofs-check -p MODULE`` sets).  A new paper is registered with
:func:`register_paper` in its claims module, before its first claim.

Replay hooks
------------
A search that finds a case violating the property puts it in
``Outcome.counterexamples`` as a small JSON-serialisable dict.  The report
saves each one as ``counterexamples/<claim-id>-<k>.json`` holding
``{"claim": id, "seed": ..., "verdict": "refuted", "case": {...}}``, and
``proofs-check replay FILE`` calls the claim's replay hook on ``case``: the
hook re-measures exactly that case and returns an :class:`Outcome`, which is
judged by the claim's own contract::

    def replay_dpi_case(case: dict) -> Outcome:
        gap = dpi_gap(np.asarray(case["pi"]), case["edges"])
        return Outcome(measured=gap, details={"gap": gap})

    @claim("causal.dpi", paper="causal", kind="theorem", measured="max DPI gap",
           direction="<=", tolerance=1e-10, replay=replay_dpi_case, ...)
    def check_dpi(profile: Profile) -> Outcome:
        ...
        return Outcome(measured=..., counterexamples=[{"pi": pi.tolist(), "edges": edges}])

Keep cases small (hypothesis shrinks them) and made of plain numbers, lists
and strings, so the JSON file is the whole record of the case.  Seed searches
from the profile and keep hypothesis's example database out of them, so the
same seed gives the same case.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

# the papers and the plugin loading live in proofs_check.plugins; a plugin imports them from here, beside @claim
from proofs_check.plugins import (ARXIV, ENTRY_POINT_GROUP, PAPERS, PLUGINS_VARIABLE, load_entry_points,
                                  load_plugins, plugin_modules, register_paper)

__all__ = ["CLAIM_KINDS", "EXPECTED_VERDICT", "KIND_MARKER", "DIRECTIONS", "OPERATORS", "PROFILES",
           "SAME_AS_FULL", "Param", "Params", "DEVICES", "Profile", "Outcome", "Units", "Claim",
           "profiles_of", "claim", "run_units_serially", "all_claims",
           # re-exported from proofs_check.plugins: a plugin imports them from here, beside @claim
           "ARXIV", "ENTRY_POINT_GROUP", "PAPERS", "PLUGINS_VARIABLE", "load_entry_points", "load_plugins",
           "plugin_modules", "register_paper"]

CLAIM_KINDS = ("theorem", "boundary", "finding")
EXPECTED_VERDICT = {"theorem": "holds", "boundary": "refuted", "finding": "refuted"}
KIND_MARKER = {"theorem": "", "boundary": "◆", "finding": "★"}  # how tables and the report mark known refutations
DIRECTIONS = ("<=", ">=")
OPERATORS = ("<=", ">=", "<", ">", "==")


PROFILES = ("quick", "full", "paper")


class _SameAsFull:
    """The default ``paper`` value of a :class:`Param`: the full profile's."""

    def __repr__(self) -> str:
        return "same as full"


SAME_AS_FULL: Any = _SameAsFull()


@dataclass(frozen=True)
class Param:
    """A declared parameter of a claim: its values in the three profiles.

    ``quick`` (the whole suite in under 2 minutes), ``full`` (about 20 minutes on 2 cores) and
    ``paper`` (the papers' own settings and budgets: hours on 2 cores), which defaults to ``full``.
    The type of the full value fixes how a command-line override is read: an ``int``, ``float``,
    ``bool`` or ``str``, or a tuple of one of these (written ``a,b,c``).
    """

    quick: Any
    full: Any
    help: str = ""
    paper: Any = SAME_AS_FULL

    def value(self, profile_name: str) -> Any:
        if profile_name == "quick":
            return self.quick
        if profile_name == "paper" and self.paper is not SAME_AS_FULL:
            return self.paper
        return self.full


class Params(Mapping[str, Any]):
    """The resolved parameters of one claim run: a read-only, hashable mapping."""

    def __init__(self, values: Mapping[str, Any] | None = None):
        self._values = dict(values or {})

    def __getitem__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"parameter {name!r} is not declared by this claim "
                           f"(declared: {', '.join(sorted(self._values)) or 'none'})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._values.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Params) and dict(self) == dict(other)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"


#: where a run's float32 training paths run (``proofs-check run --device``)
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class Profile:
    """How hard a run checks: ``quick`` (small sizes, < 2 min in all), ``full`` (about 20 minutes on
    2 cores) or ``paper`` (every experiment at its paper's settings and budget).

    ``params`` holds the claim's resolved parameters while its check runs; ``device`` is where the
    float32 training paths run (``"cpu"`` or ``"cuda"``, :func:`numerics.runtime.training_device`): every
    check judges a float64 copy on the CPU.
    """

    name: str = "quick"
    seed: int = 0
    params: Params = field(default_factory=Params)
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.name not in PROFILES:
            raise ValueError(f"profile: expected one of {PROFILES}, got {self.name!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device: expected one of {DEVICES}, got {self.device!r}")
        if not isinstance(self.params, Params):
            object.__setattr__(self, "params", Params(self.params))

    @property
    def quick(self) -> bool:
        return self.name == "quick"

    def rng(self, salt: int | str = 0) -> np.random.Generator:
        """A generator determined by the profile's seed and a per-claim salt.

        A string salt keeps only its first four bytes (``"causal.a"`` and ``"causal.b"`` give the
        same generator); the claims' records are pinned to that, so new code derives the generators
        of independent pieces with :meth:`unit_rng`."""
        if isinstance(salt, str):
            salt = int.from_bytes(salt.encode(), "little") % (2**32)
        return np.random.default_rng([self.seed, salt])

    def unit_rng(self, name: str, unit: int = 0) -> np.random.Generator:
        """The generator of unit ``unit`` of the work named ``name`` (a claim's graph, seed or restart):
        determined by the profile's seed, the whole name (CRC-32) and the unit's index alone, never
        by the order in which units run."""
        if not isinstance(name, str) or isinstance(unit, bool) or not isinstance(unit, int) or unit < 0:
            raise ValueError(f"unit: expected a name and a non-negative integer index, got {name!r}, {unit!r}")
        return np.random.default_rng([self.seed, zlib.crc32(name.encode()), unit])


@dataclass
class Outcome:
    """What a check measured; never a verdict (the runner decides it).

    ``measured`` is the number compared with the claim's tolerance in the
    claim's direction; ``conditions`` and ``premises`` hold the value of every
    condition and premise the claim declares, by name.  ``stderr`` (optional) is the standard error of
    ``measured`` when it is a Monte Carlo estimate, and ``samples`` the
    number of draws behind it: a 95% interval that straddles the tolerance
    makes the verdict ``inconclusive``.  ``details`` holds anything worth
    reporting; ``counterexamples`` small JSON-serialisable cases that violate
    the property; ``figure`` an optional callable ``figure(path)`` writing a PNG.
    """

    measured: float
    conditions: dict[str, Any] = field(default_factory=dict)
    premises: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    counterexamples: list[dict[str, Any]] = field(default_factory=list)
    figure: Callable[[str], None] | None = None
    stderr: float | None = None
    samples: int | None = None


@dataclass(frozen=True)
class Units:
    """A claim's independent pieces of work: ``split(profile) -> list`` of unit keys (small and picklable),
    ``measure(profile, unit) -> measurement`` (picklable; its randomness derives from the profile's seed and
    the unit alone, e.g. :meth:`Profile.unit_rng`), and optionally ``cost(params, unit) -> seconds`` on
    this kind of machine, so schedulers start the longest units first."""

    split: Callable[[Profile], list[Any]]
    measure: Callable[[Profile, Any], Any]
    cost: Callable[[Params, Any], float] | None = None

    def __post_init__(self) -> None:
        for name in ("split", "measure"):
            if not callable(getattr(self, name)):
                raise ValueError(f"{name}: expected a callable, got {getattr(self, name)!r}")
        if self.cost is not None and not callable(self.cost):
            raise ValueError(f"cost: expected a callable or None, got {self.cost!r}")


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    kind: str
    statement: str
    hypotheses: str
    method: str
    measured: str
    direction: str
    tolerance: float
    check: Callable[[Profile], Outcome]
    conditions: dict[str, tuple[str, Any]] = field(default_factory=dict)
    premises: dict[str, tuple[str, Any]] = field(default_factory=dict)
    parameters: dict[str, Param] = field(default_factory=dict)
    reference: str = ""
    formulas: tuple[str, ...] = ()
    quick: bool = True
    proof_idea: str = ""
    replay: Callable[[dict[str, Any]], Outcome] | None = None
    reruns: tuple[Any, ...] = ()
    theory_for: tuple[str, ...] = ()
    cost: Callable[[Params], float] | None = None
    units: Units | None = None
    reduce: Callable[[Profile, list[Any]], Outcome] | None = None

    @property
    def expected(self) -> str:
        """The verdict this claim's kind expects: ``holds`` for a theorem, ``refuted`` otherwise."""
        return EXPECTED_VERDICT[self.kind]

    @property
    def paper_reference(self) -> dict[str, str]:
        return {"paper": PAPERS[self.paper], "arxiv": ARXIV[self.paper], "where": self.reference}

    def resolve(self, profile_name: str, overrides: Mapping[str, Any] | None = None) -> Params:
        """The parameter values for ``profile_name``, with ``overrides`` (already typed) applied."""
        values = {name: p.value(profile_name) for name, p in self.parameters.items()}
        for name, value in (overrides or {}).items():
            if name in values:
                values[name] = value
        return Params(values)


def profiles_of(claim: Claim) -> str:
    """The profiles that run ``claim``: ``quick+full+paper``, or ``full+paper`` for a claim kept out of
    the quick profile."""
    return "+".join(p for p in PROFILES if claim.quick or p != "quick")


_REGISTRY: dict[str, Claim] = {}


def _check_contract(id: str, kind: str, direction: str, tolerance: float,
                    tests: Mapping[str, tuple[str, Any]], parameters: Mapping[str, Param]) -> None:
    if kind not in CLAIM_KINDS:
        raise ValueError(f"kind: expected one of {CLAIM_KINDS} for claim {id!r}, got {kind!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction: expected '<=' or '>=' for claim {id!r}, got {direction!r}")
    if not np.isfinite(tolerance):
        raise ValueError(f"tolerance: expected a finite number for claim {id!r}, got {tolerance!r}")
    for name, test in tests.items():
        if not (isinstance(test, tuple) and len(test) == 2 and test[0] in OPERATORS):
            raise ValueError(f"conditions: expected {name!r}: (operator, bound) with an operator in "
                             f"{OPERATORS} for claim {id!r}, got {test!r}")
    for name, param in parameters.items():
        if not isinstance(param, Param):
            raise ValueError(f"parameters: expected {name!r} to be a Param(quick=..., full=...) for claim {id!r}")


def claim(
    id: str,
    *,
    paper: str,
    kind: str,
    statement: str,
    hypotheses: str,
    method: str,
    measured: str,
    direction: str,
    tolerance: float,
    conditions: Mapping[str, tuple[str, Any]] | None = None,
    premises: Mapping[str, tuple[str, Any]] | None = None,
    parameters: Mapping[str, Param] | None = None,
    reference: str = "",
    formulas: tuple[str, ...] = (),
    quick: bool = True,
    proof_idea: str = "",
    replay: Callable[[dict[str, Any]], Outcome] | None = None,
    reruns: tuple[Any, ...] = (),
    theory_for: tuple[str, ...] = (),
    cost: Callable[[Params], float] | None = None,
    units: Units | None = None,
) -> Callable[[Callable[..., Outcome]], Callable[..., Outcome]]:
    """Register ``check`` as the check of claim ``id`` under the contract of the module docstring.

    ``quick=False`` keeps the claim out of the quick profile.  ``replay``
    is the optional hook that re-measures one saved counterexample case.
    ``reruns``: :class:`proofs_check.experiments.Rerun` entries, one per figure of a paper whose
    experiment the claim reruns (with the settings it runs, compared field by field with the
    figure's official ones by ``proofs-check figures``); ``theory_for``: figure keys
    (``"causal:2"``) whose theory, not experiment, the claim checks.  ``cost``: the estimated
    seconds of one run on this kind of machine (2 cores) from the resolved parameters, for
    ``proofs-check list --profile P``.  ``units``: the claim's independent pieces (:class:`Units`); the
    decorated function is then the reduce, ``check(profile, measurements) -> Outcome``, and the claim's
    ``check`` is the serial loop over the units.
    """
    if paper not in PAPERS:
        raise ValueError(f"paper: expected one of {sorted(PAPERS)}, got {paper!r}")
    conditions, premises, parameters = dict(conditions or {}), dict(premises or {}), dict(parameters or {})
    if set(conditions) & set(premises):
        raise ValueError(f"premises: {sorted(set(conditions) & set(premises))} also named as conditions of {id!r}")
    _check_contract(id, kind, direction, float(tolerance), {**conditions, **premises}, parameters)
    formulas = tuple(formulas)
    if not all(isinstance(f, str) and f.count(".") >= 1 for f in formulas):
        raise ValueError(f"formulas: expected dotted names such as 'theory.gradients.attention_gradient_at_init' "
                         f"for claim {id!r}, got {formulas!r}")

    if units is not None and not isinstance(units, Units):
        raise ValueError(f"units: expected a proofs_check.registry.Units for claim {id!r}, got {units!r}")

    def register(check: Callable[..., Outcome]) -> Callable[..., Outcome]:
        if id in _REGISTRY:
            raise ValueError(f"id: claim {id!r} is registered twice")
        serial, reduce = check, None
        if units is not None:
            serial, reduce = functools.partial(run_units_serially, units, check), check
        _REGISTRY[id] = Claim(id, paper, kind, statement.strip(), hypotheses.strip(), method.strip(),
                              measured.strip(), direction, float(tolerance), serial, conditions, premises,
                              parameters, reference.strip(), formulas, quick, proof_idea.strip(), replay,
                              tuple(reruns), tuple(theory_for), cost, units, reduce)
        return check

    return register


def run_units_serially(units: Units, reduce: Callable[[Profile, list[Any]], Outcome], profile: Profile,
                       unit_seconds: list[float] | None = None) -> Outcome:
    """A unit claim's serial check: ``reduce(profile, [measure(profile, u) for u in split(profile)])``;
    each unit's wall time is appended to ``unit_seconds`` when given."""
    import time

    measurements = []
    for unit in units.split(profile):
        start = time.perf_counter()
        measurements.append(units.measure(profile, unit))
        if unit_seconds is not None:
            unit_seconds.append(time.perf_counter() - start)
    return reduce(profile, measurements)


def all_claims() -> dict[str, Claim]:
    """Every registered claim: the modules of ``proofs_check.claims``, then the entry points of
    :data:`ENTRY_POINT_GROUP`, then the modules of :data:`PLUGINS_VARIABLE`."""
    from proofs_check import claims as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    load_entry_points()
    load_plugins(plugin_modules())
    return dict(_REGISTRY)
