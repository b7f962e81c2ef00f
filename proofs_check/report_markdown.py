"""The text of ``report.md``: the summary, the findings, one section per claim grouped by paper, the
environment.  :mod:`proofs_check.report` writes the folder and calls :func:`render_markdown`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from proofs_check.markdown import (clean_text, fenced, first_sentence, flatten_details, fmt_number, fmt_value, md_cell,
                                   md_code, md_code_cell, md_text, plural, slug)
from proofs_check.registry import KIND_MARKER as MARKER
from proofs_check.registry import PAPERS, Claim, profiles_of
from proofs_check.runner import Result

__all__ = ["STATUS", "render_markdown", "NON_COMMUTING_PREFIX"]

if TYPE_CHECKING:
    from proofs_check.report import ClaimArtifacts

STATUS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}


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
    details = next((r.outcome.details for r in haar if r.outcome is not None
                    and "gd_share_KtQ_official" in (r.outcome.details or {})), None)
    if details is not None:
        measured += (f". The trained official model's attention puts {details['gd_share_KtQ_official']:.0%} of "
                     f"W_KᵀW_Q's energy and {details['gd_share_V_official']:.0%} of its value-to-prediction map in "
                     f"the blocks of the GD construction: it predicts along G_t s_t and its LayerNorm sets the "
                     f"length")
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
