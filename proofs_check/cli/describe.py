"""``list``, ``figures``, ``explain``, ``where`` and ``replay``: the commands that describe the registered claims
(their contracts, figures and formulas) and re-check one saved counterexample case.
"""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from proofs_check.cli.console import id_column
from proofs_check.cli.inputs import UsageError, check_writable, load_claims
from proofs_check.registry import Claim, Outcome, Profile, profiles_of
from proofs_check.runner import select
from proofs_check.verdicts import judge, requirement

__all__ = ["list_command", "figures_command", "explain_command", "where_command", "replay_command"]


def list_command(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.timings import estimate_seconds, format_seconds, recorded_seconds, workers_line

    claims = [c for c in load_claims().values() if args.kind is None or c.kind == args.kind]
    profile = None if args.profile is None else Profile(args.profile)
    if profile is not None:
        claims = select({c.id: c for c in claims}, profile)
    title = "Registered claims" + (f" of kind {args.kind}" if args.kind else "")
    table = Table(title=title + (f", {profile.name} profile" if profile else ""))
    id_column(table, claims)
    for col in ("kind", "paper", "profile"):
        table.add_column(col, no_wrap=True)
    if profile is not None:
        table.add_column("estimate", no_wrap=True, justify="right")
    table.add_column("statement", ratio=1)
    total, unknown = 0.0, 0
    recorded = recorded_seconds() if profile is not None else {}  # read once, not once per claim
    for c in claims:
        row = [c.id, c.kind, c.paper, profiles_of(c)]
        if profile is not None:
            seconds, source = estimate_seconds(c, profile.name, recorded)
            if seconds is None:
                unknown += 1
            else:
                total += seconds
            row.append(format_seconds(seconds) + ("" if source == "recorded" else f" ({source})"))
        table.add_row(*row, escape(" ".join(c.statement.split())[:100]))
    console.print(table)
    if profile is not None:
        console.print(f"estimated total for the {profile.name} profile on this kind of machine (2 cores, one claim "
                      f"at a time): {format_seconds(total)}" + (f", plus {unknown} claim(s) without an estimate"
                                                                 if unknown else ""))
        if args.jobs > 1:
            console.print(workers_line(claims, profile.name, args.jobs, recorded), soft_wrap=True)
    return 0


def figures_command(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.experiments import PARTS, figure_rows

    rows = figure_rows(load_claims(), args.profile)
    if args.json is not None:
        check_writable(args.json, "--json")
        Path(args.json).write_text(json.dumps({"profile": args.profile, "figures": rows}, indent=1) + "\n")
    table = Table(title=f"Figures of the papers' experiments and the claims that rerun them ({args.profile} profile)")
    for col in ("figure", "claim", "relation", *PARTS):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(f"{r['paper']} {r['number']}", r["claim"] or "—", r["relation"],
                      *(escape(r[p]) for p in PARTS))
    console.print(table)
    return 0


def explain_command(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.markdown import clean_text

    claims = load_claims()
    if args.id not in claims:
        raise UsageError(f"claim: unknown claim id {args.id}; see 'proofs-check list'")
    c = claims[args.id]
    console.print(f"[bold]{escape(c.id)}[/bold]  {c.kind} (expected verdict: {c.expected}; "
                  f"{profiles_of(c)} profiles)")
    ref = c.paper_reference
    console.print(f"[dim]{escape(ref['paper'])}, arXiv {ref['arxiv']}: {escape(ref['where'])}[/dim]")
    for label, text in (("Statement", c.statement), ("Proof idea", c.proof_idea),
                        ("Hypotheses", c.hypotheses), ("Method", c.method)):
        console.print()
        console.print(f"[bold cyan]{label}[/bold cyan]")
        console.print(escape(clean_text(text) or "(none given)"))
    console.print()
    console.print(f"[bold cyan]Holds when[/bold cyan] {escape(requirement(c))}")
    if c.premises:
        console.print("[bold cyan]Premises[/bold cyan] " + escape("; ".join(
            f"{name} {op} {bound}" for name, (op, bound) in c.premises.items())))
    if c.parameters:
        console.print("[bold cyan]Parameters[/bold cyan] (quick / full / paper)")
        for name, p in c.parameters.items():
            console.print(f"  {name} = {escape(repr(p.quick))} / {escape(repr(p.full))} / "
                          f"{escape(repr(p.value('paper')))}  {escape(p.help)}")
    console.print(f"[bold cyan]Profiles[/bold cyan] {profiles_of(c)}")
    if c.reruns or c.theory_for:
        figures = [f"reruns {r.figure.replace(':', ' Figure ')}" for r in c.reruns]
        figures += [f"theory for {key.replace(':', ' Figure ')}" for key in c.theory_for]
        console.print(f"[bold cyan]Figures[/bold cyan] {escape('; '.join(figures))} (proofs-check figures)")
    check = inspect.unwrap(c.check)
    try:
        where = f"{_relative(inspect.getsourcefile(check))}:{inspect.getsourcelines(check)[1]}"
    except (TypeError, OSError):
        where = "?"
    console.print(f"[bold cyan]Check[/bold cyan] {c.check.__module__}.{c.check.__qualname__} ({escape(where)})")
    console.print(f"[bold cyan]Formulas checked[/bold cyan] {escape(', '.join(c.formulas) or 'none listed')}")
    console.print(f"[bold cyan]Replay hook[/bold cyan] {'yes' if c.replay is not None else 'no'}")
    return 0


def _relative(path: str | None) -> str:
    from proofs_check.where import ROOT

    p = Path(path or "?").resolve()
    return str(p.relative_to(ROOT)) if ROOT in p.parents else str(p)


def where_command(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.where import WhereError, locate

    claims = load_claims()
    try:
        found = locate(args.name, claims)
    except WhereError as exc:
        raise UsageError(str(exc)) from None
    for loc in found:
        console.print(f"[bold]{escape(loc.name)}[/bold]")
        console.print(f"  implemented in {escape(loc.file)}:{loc.line}")
        if loc.claims:
            console.print("  checked by claims:")
            for c in loc.claims:
                console.print(f"    {escape(c.id)}  ({c.kind}; {escape(c.check.__module__)})")
        else:
            console.print("  checked by claims: none lists it")
        console.print(f"  tested in ({len(loc.tests)}):" if loc.tests else "  tested in: no test names it")
        for t in loc.tests:
            console.print(f"    {escape(t)}")
    return 0


def _print_replay(value: Outcome, claim: Claim, verdict: str, reason: str, console: Console) -> None:
    from proofs_check.markdown import fmt_number, fmt_value

    if verdict == "refuted":
        said = f"[red]the case still violates the claimed property[/red] ({escape(reason)})"
    elif verdict == "holds":
        said = "[green]the claimed property holds on this case[/green]"
    else:
        said = f"[magenta]{verdict}[/magenta]: {escape(reason)}"
    console.print(f"{escape(claim.measured)} = {fmt_number(value.measured)} "
                  f"({claim.direction} {fmt_number(claim.tolerance)} required): {said}", soft_wrap=True)
    if value.details:
        table = Table(show_header=True)
        table.add_column("quantity")
        table.add_column("value")
        for key, v in value.details.items():
            table.add_row(escape(str(key)), escape(fmt_value(v, limit=400)))
        console.print(table)


def replay_command(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.replay import ReplayError, find_replay_hook, load_case

    try:
        case = load_case(args.file)
        found = find_replay_hook(case, load_claims())
    except ReplayError as exc:
        raise UsageError(str(exc)) from None
    seed = f", seed {case.seed}" if case.seed is not None else ""
    console.print(f"replaying [bold]{escape(found.id)}[/bold] on {escape(case.path)}{escape(seed)}")
    console.print(escape(json.dumps(case.case)), soft_wrap=True)
    try:
        value = found.replay(case.case)
        if not isinstance(value, Outcome):
            raise TypeError(f"the hook returned {type(value).__name__}, expected an Outcome")
    except Exception as exc:  # a case the hook cannot read is bad input, reported in one line
        raise UsageError(f"replay file {case.path!r}: the case cannot be replayed by {found.id!r}: "
                         f"{type(exc).__name__}: {exc}") from None
    judgement = judge(found, value)
    _print_replay(value, found, judgement.verdict, judgement.reason, console)
    if judgement.verdict == case.verdict:
        console.print(f"reproduced: the recorded verdict {case.verdict!r}")
        return 0
    console.print(f"[red]not reproduced[/red]: recorded {case.verdict!r}, now {judgement.verdict!r}")
    return 1
