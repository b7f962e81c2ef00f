"""The pytest plugin: every registered claim as a test item, where researchers run tests.

    pytest --proofs-check=quick                      the quick profile's claims, nothing else
    pytest --proofs-check=full -k ranking -x         the full profile, ranking claims, stop at the first failure
    pytest --proofs-check=quick --proofs-check-seed 3 --proofs-check-param variables=3
    pytest --proofs-check=quick tests/               the claims and the tests under tests/
    pytest --proofs-check=full proofs-check::causal.edge_ranking    one claim, by its node id

Each claim is one item with node id ``proofs-check::<claim id>``, so ``-k``,
``-x``, ``--lf``, ``--junitxml`` and ``-n`` (pytest-xdist) work as for any
test.  The item passes when the verdict is the one the claim's kind expects.
A boundary or a finding that is refuted, as expected, is reported as
*xfailed* with the refutation's evidence as the reason, so a known
refutation never hides among plain passes.  An unexpected verdict fails
with the claim's reason (:meth:`Result.explanation`) and the command that
reproduces it, without a traceback of the plugin.

Without ``--proofs-check`` the plugin only adds its options: it registers
no other hook, so a project's own test run is unchanged.
"""

from __future__ import annotations

import inspect
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

__all__ = ["NODE", "PROFILES", "pytest_addoption", "pytest_configure", "ClaimsPlugin", "ClaimsCollector",
           "ClaimFailed", "ClaimItem"]

if TYPE_CHECKING:  # the claims are imported only under --proofs-check, so a plain test run loads nothing
    from proofs_check.registry import Claim
    from proofs_check.runner import Result

NODE = "proofs-check"  # the collector's node id: items are "proofs-check::<claim id>"
PROFILES = ("quick", "full", "paper")  # as proofs_check.registry.PROFILES, without importing it at start-up


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("proofs-check", "claims of icl-theory-check as test items")
    group.addoption("--proofs-check", action="store", choices=PROFILES, default=None, metavar="PROFILE",
                    help="collect every registered claim of PROFILE (quick, full or paper) as a test item; "
                         "without path arguments, only the claims run")
    group.addoption("--proofs-check-seed", action="store", type=int, default=0, metavar="N",
                    help="the seed of the claims' profile (default 0)")
    group.addoption("--proofs-check-param", action="append", default=[], metavar="NAME=VALUE",
                    help="override a declared parameter of the claims (repeatable), as 'proofs-check run --param'")


def pytest_configure(config: pytest.Config) -> None:
    profile_name = config.getoption("proofs_check")
    if profile_name is None:
        return
    config.pluginmanager.register(ClaimsPlugin(config, profile_name), "proofs-check-claims")


class ClaimsPlugin:
    """The hooks that are active only under ``--proofs-check``."""

    def __init__(self, config: pytest.Config, profile_name: str):
        from proofs_check.registry import Profile, all_claims
        from proofs_check.runner import parse_overrides, select

        self.profile = Profile(profile_name, seed=config.getoption("proofs_check_seed"))
        self.assignments: list[str] = list(config.getoption("proofs_check_param") or [])
        try:
            claims = all_claims()
        except Exception as exc:  # a claims module that fails to import: one line, as the command line says it
            raise pytest.UsageError(f"--proofs-check: cannot load the claims: {type(exc).__name__}: {exc}") from None
        # a node id copied from a report ("proofs-check::causal.edge_ranking") names a claim, not a path
        named = [arg for arg in config.args if arg.startswith(f"{NODE}::")]
        try:
            self.claims = select(claims, self.profile, [arg.split("::", 1)[1] for arg in named])
        except ValueError as exc:
            raise pytest.UsageError(f"--proofs-check: {exc}") from None
        try:
            self.overrides = parse_overrides(self.assignments, self.claims)
        except ValueError as exc:
            raise pytest.UsageError(f"--proofs-check-{exc}") from None
        if config.args_source != pytest.Config.ArgsSource.ARGS:
            config.args = []  # no path on the command line: the claims, not the default test paths, are the run
        elif named:
            config.args = [arg for arg in config.args if arg not in named]

    def pytest_report_header(self, config: pytest.Config) -> str:
        given = f", parameters {' '.join(self.assignments)}" if self.assignments else ""
        return (f"proofs-check: {self.profile.name} profile, seed {self.profile.seed}, "
                f"{len(self.claims)} claims{given}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Iterator[None]:
        outcome = yield
        if isinstance(collector, pytest.Session):
            report = outcome.get_result()
            if report.passed:
                report.result.append(ClaimsCollector.from_parent(collector, name=NODE, nodeid=NODE, plugin=self))

    def reproduce_command(self, claim: Claim) -> str:
        """The ``proofs-check run`` command that re-runs ``claim`` with this run's profile, seed and parameters."""
        parts = ["proofs-check", "run"] + (["--quick"] if self.profile.quick else [])
        parts += ["--claim", claim.id, "--seed", str(self.profile.seed)]
        for assignment in self.assignments:
            if assignment.partition("=")[0].strip() in claim.parameters:
                parts += ["--param", assignment]
        return " ".join(shlex.quote(p) for p in parts)


class ClaimsCollector(pytest.Collector):
    """The virtual collector of the claims: one :class:`ClaimItem` per claim of the profile, in registry order."""

    def __init__(self, *, plugin: ClaimsPlugin, **kwargs: Any):
        super().__init__(**kwargs)
        self.plugin = plugin

    def collect(self) -> list[pytest.Item]:
        return [ClaimItem.from_parent(self, name=c.id, claim=c) for c in self.plugin.claims]


class ClaimFailed(Exception):
    """An unexpected verdict; the item's report is the claim's reason, not a traceback."""

    def __init__(self, result: Result):
        super().__init__(result.explanation())
        self.result = result


class ClaimItem(pytest.Item):
    """One claim: passes on the expected verdict, xfails on an expected refutation, fails otherwise."""

    def __init__(self, *, claim: Claim, **kwargs: Any):
        super().__init__(**kwargs)
        self.claim = claim
        # -k boundary, -k finding, -k causal select by kind and paper as well as by id
        self.extra_keyword_matches.update({claim.kind, claim.paper})

    @property
    def plugin(self) -> ClaimsPlugin:
        return self.parent.plugin

    def runtest(self) -> None:
        from proofs_check.runner import run_claim

        result = run_claim(self.claim, self.plugin.profile, self.plugin.overrides)
        self.user_properties += [("kind", self.claim.kind), ("verdict", result.verdict),
                                 ("expected", result.expected), ("measured", result.measured),
                                 ("seconds", round(result.seconds, 3))]
        if result.status != "pass":
            raise ClaimFailed(result)
        if self.claim.kind != "theorem" and not getattr(self.config.option, "runxfail", False):
            pytest.xfail(f"{self.claim.kind}, refuted as expected: {result.reason}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if not isinstance(excinfo.value, ClaimFailed):
            return super().repr_failure(excinfo, style)
        result = excinfo.value.result
        lines = [f"verdict {result.verdict}, expected {result.expected} ({self.claim.kind}): {result.explanation()}"]
        lines += [f"  {t.role}: {t.describe()}{'' if t.ok else '  (fails)'}" for t in result.tests]
        if result.parameters:
            lines.append("  parameters: " + ", ".join(f"{k}={v!r}" for k, v in result.parameters.items()))
        lines.append(f"  reference: {self.claim.reference}")
        lines.append(f"  reproduce: {self.plugin.reproduce_command(self.claim)}")
        if result.verdict == "error" and result.error:
            lines += ["", result.error.rstrip()]
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        try:
            path: Path | str = inspect.getsourcefile(self.claim.check) or self.path
            line: int | None = self.claim.check.__code__.co_firstlineno - 1
        except (TypeError, AttributeError):
            path, line = self.path, None
        return path, line, f"{NODE}: {self.claim.id}"
