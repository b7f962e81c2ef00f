"""The proof-check report: ``report.md``, ``report.json``, figures and counterexamples.

Layout of a report folder ``DIR``::

    DIR/report.md                       claims grouped by paper, summary table first
    DIR/report.json                     the ``--json`` record plus statements and environment
    DIR/figures/<claim-id>.png          one figure per claim that draws one
    DIR/counterexamples/<claim-id>-<k>.json
                                        {"claim": id, "seed": ..., "case": {...}},
                                        replayable with ``proofs-check replay FILE``

Everything in the report is a function of the seed and the profile except the
fields that :func:`deterministic_view` drops (run times, the timestamp, the
environment), so two runs with the same seed and profile give the same
verdicts and numbers to printed precision.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import matplotlib

matplotlib.use("Agg")


from proofs_check.markdown import (clean_text, dumps, fenced, first_sentence, flatten_details, fmt_number,  # noqa: E402
                                   fmt_value, md_cell, md_code, md_code_cell, md_text, plural, slug)
from proofs_check.registry import KIND_MARKER as MARKER  # noqa: E402
from proofs_check.registry import PAPERS, Claim, Profile, profiles_of  # noqa: E402
from proofs_check.runner import Result  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STATUS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}
GENERATOR = "proofs-check report"
ENVIRONMENT_PACKAGES = ("numpy", "scipy", "sympy", "torch", "hypothesis", "matplotlib", "networkx", "rich")


class ReportError(Exception):
    """The report folder cannot be used; the message is one line for the user."""


@dataclass
class ClaimArtifacts:
    """What the report wrote for one claim, relative to the report folder."""

    figure: str | None = None
    figure_error: str = ""
    counterexamples: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- JSON


def deterministic_view(report: dict[str, Any]) -> dict[str, Any]:
    """``report.json`` without what legitimately differs between identical runs.

    Drops the timestamp, the environment, the command line (it names the
    report folder) and each claim's ``seconds``; what is left is fixed by the
    seed and the profile.
    """
    out = {k: v for k, v in report.items() if k not in ("generated_at", "environment", "command")}
    out["claims"] = [{k: v for k, v in c.items() if k != "seconds"} for c in report.get("claims", [])]
    return out


def environment(profile: Profile) -> dict[str, Any]:
    """Versions, seed, profile and CPU count; package versions only where installed."""
    versions: dict[str, str | None] = {}
    for name in ENVIRONMENT_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
        "seed": profile.seed,
        "profile": profile.name,
        "cpu_count": os.cpu_count(),
    }
    commit = _git_commit()
    if commit:
        env["git_commit"] = commit
    return env


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def safe_name(claim_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", claim_id)


# --------------------------------------------------------------------------- the report folder


def previous_report_files(path: Path) -> list[str] | None:
    """The files a previous report wrote in ``path`` (its manifest), or ``None`` if ``path`` holds none.

    A folder is a previous report of the toolkit when its ``report.json`` names
    this generator; the manifest lists every file that report wrote.
    """
    try:
        record = json.loads((path / "report.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("generator") != GENERATOR:
        return None
    files = record.get("files", [])
    return [f for f in files if isinstance(f, str)]


def prepare_report_dir(directory: str | os.PathLike) -> Path:
    """Create ``directory`` and check that files can be written in it (before any claim runs).

    An existing folder must be empty or a previous report of the toolkit:
    the report never deletes or overwrites a file it did not write.
    """
    if not str(directory).strip():
        raise ReportError("--report: expected a folder path, got an empty string")
    path = Path(directory)
    try:
        if path.exists() and not path.is_dir():
            raise ReportError(f"report folder {str(path)!r} exists and is not a folder")
        if path.is_dir() and any(path.iterdir()) and previous_report_files(path) is None:
            raise ReportError(f"report folder {str(path)!r} is not empty and is not a previous proofs-check "
                              f"report; choose a new or empty folder")
        make_writable_folder(path)
    except OSError as exc:
        raise ReportError(f"cannot write the report folder {str(path)!r}: {exc.strerror or exc}") from None
    return path


def make_writable_folder(path: Path) -> None:
    """Create ``path`` (and its parents) and prove a file can be written in it; ``OSError`` otherwise."""
    path.mkdir(parents=True, exist_ok=True)
    probe = path / ".proofs-check-write-test"
    probe.write_text("")
    probe.unlink()


def _clear_generated(path: Path) -> None:
    """Remove the files a previous report of the toolkit wrote here (its manifest), and nothing else,
    so that no old figure or case is mistaken for this run's."""
    root = path.resolve()
    for rel in previous_report_files(path) or []:
        target = (path / rel).resolve()
        if root in target.parents and target.is_file():  # never outside the folder
            target.unlink()


def _write_figure(result: Result, path: Path) -> ClaimArtifacts:
    import matplotlib.pyplot as plt

    art = ClaimArtifacts()
    figure = result.outcome.figure if result.outcome is not None else None
    if figure is None:
        return art
    rel = f"figures/{safe_name(result.claim.id)}.png"
    target = path / rel
    target.parent.mkdir(exist_ok=True)
    try:
        figure(str(target))
    except Exception as exc:  # a broken figure is reported, the rest of the report still written
        art.figure_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        plt.close("all")
    if not art.figure_error:
        try:
            with open(target, "rb") as fh:
                ok = fh.read(8) == PNG_MAGIC
        except OSError:
            ok = False
        if ok:
            art.figure = rel
        else:
            art.figure_error = "the figure function did not write a PNG file at the path it was given"
    return art


def _write_counterexamples(result: Result, path: Path, profile: Profile) -> list[str]:
    cases = result.outcome.counterexamples if result.outcome is not None else []
    written = []
    if cases:
        (path / "counterexamples").mkdir(exist_ok=True)
    for k, case in enumerate(cases, start=1):
        rel = f"counterexamples/{safe_name(result.claim.id)}-{k}.json"
        record = {"claim": result.claim.id, "seed": profile.seed, "profile": profile.name, "verdict": "refuted",
                  "case": case}
        (path / rel).write_text(dumps(record) + "\n")
        written.append(rel)
    return written


def claim_record(result: Result, art: ClaimArtifacts) -> dict[str, Any]:
    """One claim in ``report.json``: the ``--json`` record plus the claim's text and artifacts."""
    c = result.claim
    rec = result.as_json()
    rec.update({
        "statement": clean_text(c.statement),
        "hypotheses": clean_text(c.hypotheses),
        "method": clean_text(c.method),
        "proof_idea": clean_text(c.proof_idea),
        "profile": profiles_of(c),
        "explanation": result.explanation(),
        "figure": art.figure,
        "counterexample_files": art.counterexamples,
        "replay_hook": c.replay is not None,
    })
    if art.figure_error:
        rec["figure_error"] = art.figure_error
    return rec


def write_report(results: list[Result], profile: Profile, directory: str | os.PathLike, *,
                 command: str | None = None, not_run: Iterable[Claim] = ()) -> dict[str, Any]:
    """Write ``report.md``, ``report.json``, the figures and the counterexample cases.

    ``command`` is the command line that reproduces the run; ``not_run`` are
    registered claims this profile skipped (listed so the report says so).
    Returns the ``report.json`` content.  Raises :class:`ReportError` when the
    folder cannot be written.
    """
    path = prepare_report_dir(directory)
    try:
        _clear_generated(path)
        artifacts = {}
        for r in results:
            art = _write_figure(r, path)
            art.counterexamples = _write_counterexamples(r, path, profile)
            artifacts[r.claim.id] = art
        records = [claim_record(r, artifacts[r.claim.id]) for r in results]
        not_run = list(not_run)
        written = sorted({"report.json", "report.md"}
                         | {a.figure for a in artifacts.values() if a.figure}
                         | {f for a in artifacts.values() for f in a.counterexamples})
        report = {
            "generator": GENERATOR,
            "profile": profile.name,
            "seed": profile.seed,
            "command": command,
            "summary": {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error")},
            "verdicts": {v: sum(r.verdict == v for r in results) for v in ("holds", "refuted", "inconclusive",
                                                                            "error")},
            "claims": records,
            "not_run": [c.id for c in not_run],
            "files": written,
            "environment": environment(profile),
            "generated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        text = dumps(report)
        report = json.loads(text)  # NumPy values in details become plain JSON, as on disk
        (path / "report.json").write_text(text + "\n")
        (path / "report.md").write_text(render_markdown(results, artifacts, report, not_run, str(directory)))
    except OSError as exc:
        raise ReportError(f"cannot write the report in {str(path)!r}: {exc.strerror or exc}") from None
    return report


# --------------------------------------------------------------------------- report.md


def render_markdown(results: list[Result], artifacts: dict[str, ClaimArtifacts],
                    report: dict[str, Any], not_run: list[Claim] = (), folder: str = "<report folder>") -> str:
    out: list[str] = []
    add = out.append
    counts = report["summary"]
    total_seconds = sum(r.seconds for r in results)
    add("# Proof-check report")
    add("")
    add(f"Profile **{report['profile']}**, seed **{report['seed']}**: {len(results)} claims checked, "
        f"{counts['pass']} passed, {counts['fail']} failed, {plural(counts['error'], 'error')} "
        f"({total_seconds:.1f} s of checking).")
    add("")
    out.extend(_findings_section(results))
    if report.get("command"):
        add("Reproduce with:")
        add("")
        add("```sh")
        add(report["command"])
        add("```")
        add("")
    add("Each claim's verdict is decided by its declared test (measured value, direction, tolerance, "
        "conditions): *holds*, *refuted*, *inconclusive* or *error*. A claim *passes* when its verdict is the "
        "one its kind expects: a theorem holds; a boundary search (◆) and a finding (★) are refuted. "
        "Numbers are printed to 4 significant digits; `report.json` has them in full.")
    add("")

    add("## Summary")
    add("")
    add("| claim | kind | verdict | test | status | seconds |")
    add("|---|---|---|---|---|---:|")
    for r in results:
        link = f"[{md_cell(r.claim.id)}](#{slug(r.claim.id)})"
        kind = f"{MARKER[r.claim.kind]} {r.claim.kind}".strip()
        verdict = r.verdict if r.verdict == r.expected else f"{r.verdict} (expected {r.expected})"
        add(f"| {link} | {kind} | {verdict} | {md_cell(_test_cell(r))} | **{STATUS[r.status]}** "
            f"| {r.seconds:.2f} |")
    add("")
    if not_run:
        add("Not run in this profile: " + ", ".join(f"`{c.id}`" for c in not_run)
            + f" (run without `--quick` to check {'it' if len(not_run) == 1 else 'them'}).")
        add("")

    for paper, title in PAPERS.items():
        group = [r for r in results if r.claim.paper == paper]
        if not group:
            continue
        add(f"## {md_text(title)}")
        add("")
        for r in group:
            out.extend(_claim_section(r, artifacts[r.claim.id], report, folder))

    add("## Environment")
    add("")
    env = report["environment"]
    add("| item | value |")
    add("|---|---|")
    add(f"| Python | {md_cell(env['python'])} ({md_cell(env['implementation'])}) |")
    add(f"| platform | {md_cell(env['platform'])} |")
    add(f"| CPUs | {env['cpu_count']} |")
    for name, version in env["packages"].items():
        add(f"| {name} | {md_cell(version or 'not installed')} |")
    if env.get("git_commit"):
        add(f"| git commit | `{env['git_commit']}` |")
    add(f"| generated | {report['generated_at']} |")
    add("")
    return "\n".join(out)


def _claim_section(r: Result, art: ClaimArtifacts, report: dict[str, Any], folder: str) -> list[str]:
    c = r.claim
    out: list[str] = []
    add = out.append
    add(f"### {c.id}")
    add("")
    add(f"*{c.kind}*{' ' + MARKER[c.kind] if MARKER[c.kind] else ''} · {md_text(c.reference)} "
        f"(arXiv {c.paper_reference['arxiv']})")
    add("")
    if r.verdict == "error":
        add(f"**Verdict: error** ({STATUS[r.status]}): {md_text(r.explanation())} "
            f"({r.seconds:.2f} s, {profiles_of(c)} profiles).")
    else:
        add(f"**Verdict: {r.verdict}** (expected {r.expected}: **{STATUS[r.status]}**) — "
            f"{md_text(_test_cell(r))}, in {r.seconds:.2f} s ({profiles_of(c)} profiles).")
        if r.status != "pass":
            add("")
            add(f"**Why.** {md_text(r.explanation())}")
    add("")
    if len(r.tests) > 1:
        add("| test | role | value | required | met |")
        add("|---|---|---:|---|---|")
        for t in r.tests:
            add(f"| {md_cell(t.name)} | {t.role} | {fmt_number(t.value)} | {t.op} {fmt_number(t.bound)} "
                f"| {'yes' if t.ok else 'no'} |")
        add("")
    if r.parameters:
        add("**Parameters.** " + ", ".join(f"{md_code(k)} = {md_code(fmt_value(v))}" for k, v in r.parameters.items()))
        add("")
    for label, text in (("Statement", c.statement), ("Hypotheses", c.hypotheses),
                        ("Method", c.method), ("Proof idea", c.proof_idea)):
        if clean_text(text):
            add(f"**{label}.**")
            add("")
            add(md_text(text))
            add("")

    if r.error:
        add("**Error.** The check raised an exception:")
        add("")
        out.extend(fenced(r.error.rstrip(), "text"))
        add("")

    details = r.outcome.details if r.outcome is not None else {}
    if details:
        add("**Details.**")
        add("")
        add("| quantity | value |")
        add("|---|---|")
        for key, value in flatten_details(details):
            add(f"| {md_cell(key)} | {md_code_cell(fmt_value(value))} |")
        add("")

    if art.counterexamples:
        n = len(art.counterexamples)
        add(f"**Counterexamples.** {n} case{'s' if n != 1 else ''} found by the search outside the hypotheses:")
        add("")
        for rel, case in zip(art.counterexamples, r.outcome.counterexamples):
            add(f"- [{rel}]({rel}): {md_code(fmt_value(case, limit=200))}")
        add("")
        if c.replay is not None:
            add(f"Replay one with `proofs-check replay {Path(folder) / art.counterexamples[0]}`.")
        else:
            add("This claim has no replay hook, so its cases can be read but not replayed.")
        add("")

    if art.figure:
        add(f"![Figure for {md_text(c.id)}]({art.figure})")
        add("")
    elif art.figure_error:
        add(f"**Figure.** Not drawn: {md_text(art.figure_error)}")
        add("")
    return out


def _test_cell(r: Result) -> str:
    """``0.0218 >= 1e-06 required`` and every failing condition."""
    if not r.tests:
        return f"{r.claim.measured}: nothing measured"
    text = f"{r.claim.measured} = {fmt_number(r.tests[0].value)}, {r.claim.direction} " \
           f"{fmt_number(r.claim.tolerance)} required"
    failing = [t for t in r.tests[1:] if not t.ok]
    if failing:
        text += "; " + "; ".join(f"{t.name} = {fmt_number(t.value)}, {t.op} {fmt_number(t.bound)} required"
                                 for t in failing)
    return text


def _findings_section(results: list[Result]) -> list[str]:
    """The top section: every finding and boundary, its verdict and its evidence."""
    known = [r for r in results if r.claim.kind != "theorem"]
    if not known:
        return []
    out = ["## What this toolkit finds that the papers do not say", "",
           "Findings (★) are statements of a paper that the toolkit shows false in a stated setting; boundaries "
           "(◆) are searches outside a stated hypothesis that find a counterexample. Both are expected to be "
           "refuted; a line marked **FAIL** means the refutation no longer reproduces.", ""]
    for r in known:
        c = r.claim
        status = "" if r.status == "pass" else f" **{STATUS[r.status]}**: {md_text(r.explanation())}."
        evidence = r.reason if r.verdict == "refuted" else ""
        add = f"- {MARKER[c.kind]} [{md_text(c.id)}](#{slug(c.id)}) ({c.kind}, {r.verdict}){status} " \
              f"{md_text(first_sentence(c.statement))}"
        if evidence:
            add += f" Evidence: {md_text(evidence)}."
        if r.outcome is not None and r.outcome.counterexamples:
            add += f" {plural(len(r.outcome.counterexamples), 'counterexample')} saved."
        out.append(add)
    out.append("")
    out.extend(_non_commuting_paragraph(results))
    return out


NON_COMMUTING_PREFIX = "ar.haar_"


def _non_commuting_paragraph(results: list[Result]) -> list[str]:
    """One paragraph on the autoregressive paper's experiments with W Haar on O(d) (its Figures 5 and 7):
    what the commuting theory predicts there, and what the claims of that setting measured in this run."""
    haar = [r for r in results if r.claim.id.startswith(NON_COMMUTING_PREFIX)]
    if not haar:
        return []
    measured = "; ".join(f"{md_text(r.claim.id)} ({r.claim.kind}, {r.verdict}): {md_text(r.claim.measured)} = "
                         f"{_number(r.measured)}" for r in haar)
    return ["### Non-commuting contexts (W Haar on O(d), the autoregressive paper's Figures 5 and 7)", "",
            "The commuting theory predicts that a trained augmented-token layer is one gradient step η G_t s_t "
            "(no preconditioner and no trained layer does better) and that raw tokens reach the loss "
            "d - 2·min(H, ⌊d/2⌋) with one head per rotation plane. For W Haar on O(d) the paper says its "
            "experiments 'generalize our theoretical findings'. Measured in this run: " + measured + ". "
            "A finding or boundary refuted here means the trained models do better than one gradient step "
            "(augmented tokens) or stay above the commuting minimum (raw tokens): the commuting theory does "
            "not carry over as stated.", ""]


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


