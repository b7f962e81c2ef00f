"""The proof-check report: ``report.md``, ``report.json``, figures and counterexamples.

Layout of a report folder ``DIR``::

    DIR/report.md                       claims grouped by paper, summary table first
    DIR/report.json                     the ``--json`` record plus statements and environment
    DIR/figures/<claim-id>.png          one figure per claim that draws one
    DIR/counterexamples/<claim-id>-<k>.json
                                        {"claim": id, "seed": ..., "case": {...}},
                                        replayable with ``proofs-check replay FILE``

This module writes the folder, the figures, the counterexample cases and ``report.json``;
:mod:`proofs_check.report_markdown` writes the text of ``report.md``.

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


from proofs_check.markdown import clean_text, dumps  # noqa: E402
from proofs_check.registry import Claim, Profile, profiles_of  # noqa: E402
from proofs_check.report_markdown import render_markdown  # noqa: E402
from proofs_check.runner import Result  # noqa: E402

__all__ = ["PNG_MAGIC", "GENERATOR", "ENVIRONMENT_PACKAGES", "ReportError", "ClaimArtifacts",
           "deterministic_view", "environment", "safe_name", "previous_report_files", "prepare_report_dir",
           "make_writable_folder", "claim_record", "write_report"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
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
        "device": profile.device,
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
