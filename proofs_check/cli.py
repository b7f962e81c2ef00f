"""The ``proofs-check`` command: ``list``, ``run``, ``explain`` and ``replay``.

    proofs-check list                              the registered claims
    proofs-check run [--quick] [--claim ID]... [--seed N] [--json FILE] [--report DIR]
    proofs-check explain ID                        one claim: statement, proof idea, hypotheses, method
    proofs-check replay FILE                       re-check one saved counterexample case

Bad input (an unknown claim, an unwritable folder, a malformed case file)
gives a one-line error on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any, NoReturn

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from proofs_check import registry
from proofs_check.registry import Claim, Outcome, Profile
from proofs_check.runner import run_claims, select

BAD_INPUT = 2


class UsageError(Exception):
    """Bad input; the message is printed as one line and the exit status is 2."""


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _error(message: str) -> None:
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    first = " ".join(str(message).split())
    err.print(f"[red]error:[/red] {escape(first)}")


def _load_claims() -> dict[str, Claim]:
    """The registry, with a claims module that fails to import turned into a one-line error."""
    try:
        return registry.all_claims()
    except Exception as exc:
        where = getattr(exc, "__traceback__", None)
        module = ""
        while where is not None:
            name = where.tb_frame.f_globals.get("__name__", "")
            if name.startswith("proofs_check.claims."):
                module = name
            where = where.tb_next
        raise UsageError(f"cannot load the claims{' (' + module + ')' if module else ''}: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


def _list(args: argparse.Namespace, console: Console) -> int:
    table = Table(title="Registered claims")
    for col in ("id", "paper", "profile", "method"):
        table.add_column(col)
    for c in _load_claims().values():
        table.add_row(c.id, c.paper, "quick+full" if c.quick else "full", escape(c.method.splitlines()[0][:70]))
    console.print(table)
    return 0


def _reproduce_command(args: argparse.Namespace) -> str:
    parts = ["proofs-check", "run"]
    if args.quick:
        parts.append("--quick")
    for claim_id in args.claim or []:
        parts += ["--claim", claim_id]
    parts += ["--seed", str(args.seed)]
    if args.report:
        parts += ["--report", args.report]
    return " ".join(shlex.quote(p) for p in parts)


def _run(args: argparse.Namespace, console: Console) -> int:
    profile = Profile("quick" if args.quick else "full", seed=args.seed)
    claims = _load_claims()
    try:
        selected = select(claims, profile, args.claim)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.report:
        from proofs_check.report import ReportError, prepare_report_dir

        try:
            prepare_report_dir(args.report)
        except ReportError as exc:
            raise UsageError(str(exc)) from None
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("checking claims", total=len(selected))

        def advance(result):
            progress.update(task, advance=1, description=f"{result.claim.id}: {result.status}")

        results = run_claims(selected, profile, on_result=advance)

    table = Table(title=f"proofs-check ({profile.name} profile, seed {profile.seed})")
    for col in ("claim", "verdict", "measured", "tolerance", "seconds"):
        table.add_column(col)
    colour = {"pass": "green", "fail": "red", "error": "magenta"}
    for r in results:
        table.add_row(r.claim.id, f"[{colour[r.status]}]{r.status}[/]", _fmt(r.measured),
                      _fmt(r.claim.tolerance), f"{r.seconds:.2f}")
    console.print(table)
    for r in results:
        if r.status == "error":
            console.print(f"[magenta]{escape(r.claim.id)}[/]: {escape(r.error)}")
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error")}
    console.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors")
    if args.json:
        from proofs_check.report import jsonable

        try:
            with open(args.json, "w") as fh:
                json.dump({"profile": profile.name, "seed": profile.seed,
                           "claims": [r.as_json() for r in results]}, fh, indent=2, default=jsonable)
        except OSError as exc:
            raise UsageError(f"cannot write --json file {args.json!r}: {exc.strerror or exc}") from None
    if args.report:
        from proofs_check.report import ReportError, write_report

        chosen = {c.id for c in selected}
        not_run = [] if args.claim else [c for c in claims.values() if c.id not in chosen]
        try:
            with console.status("writing the report and its figures"):
                write_report(results, profile, args.report, command=_reproduce_command(args), not_run=not_run)
        except ReportError as exc:
            raise UsageError(str(exc)) from None
        console.print(f"report written to {escape(args.report.rstrip('/'))}/report.md")
    return 0 if counts["pass"] == len(results) else 1


def _explain(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.report import clean_text

    claims = _load_claims()
    if args.id not in claims:
        raise UsageError(f"claim: unknown claim id {args.id}; see 'proofs-check list'")
    c = claims[args.id]
    console.print(f"[bold]{escape(c.id)}[/bold]  ({'quick+full' if c.quick else 'full'} profile)")
    console.print(f"[dim]{escape(registry.PAPERS.get(c.paper, c.paper))}[/dim]")
    for label, text in (("Statement", c.statement), ("Proof idea", c.proof_idea),
                        ("Hypotheses", c.hypotheses), ("Method", c.method)):
        console.print()
        console.print(f"[bold cyan]{label}[/bold cyan]")
        console.print(escape(clean_text(text) or "(none given)"))
    console.print()
    console.print(f"[bold cyan]Tolerance[/bold cyan] {c.tolerance:.3g}")
    console.print(f"[bold cyan]Profile[/bold cyan] {'quick and full' if c.quick else 'full only'}")
    console.print(f"[bold cyan]Replay hook[/bold cyan] {'yes' if c.replay is not None else 'no'}")
    return 0


def _print_replay(value: Any, console: Console) -> None:
    from proofs_check.report import dumps, fmt_number, fmt_value

    if isinstance(value, Outcome):
        verdict = "[green]holds[/green]" if value.passed else "[red]fails[/red]"
        console.print(f"measured {fmt_number(value.measured)}: the checked property {verdict} on this case")
        if value.details:
            table = Table(show_header=True)
            table.add_column("quantity")
            table.add_column("value")
            for key, v in value.details.items():
                table.add_row(escape(str(key)), escape(fmt_value(v, limit=400)))
            console.print(table)
    elif isinstance(value, str):
        console.print(escape(value))
    else:
        console.print(escape(dumps(value)))


def _replay(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.replay import ReplayError, find_replay_hook, load_case

    try:
        case = load_case(args.file)
        found = find_replay_hook(case, _load_claims())
    except ReplayError as exc:
        raise UsageError(str(exc)) from None
    seed = f", seed {case.seed}" if case.seed is not None else ""
    console.print(f"replaying [bold]{escape(found.id)}[/bold] on {escape(case.path)}{escape(seed)}")
    console.print(escape(json.dumps(case.case)), soft_wrap=True)
    try:
        value = found.replay(case.case)
    except Exception as exc:  # the hook's own failure, reported in one line
        _error(f"the replay hook of {found.id!r} raised {type(exc).__name__}: {exc}")
        return 1
    _print_replay(value, console)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr rather than usage plus message."""

    def error(self, message: str) -> NoReturn:
        _error(f"{self.prog}: {message} (see '{self.prog} --help')")
        raise SystemExit(BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="proofs-check", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list the registered claims")
    run = sub.add_parser("run", help="run claims and print their verdicts")
    run.add_argument("--quick", action="store_true", help="small sizes, whole suite under 2 minutes")
    run.add_argument("--claim", action="append", metavar="ID", help="run only this claim; a shell pattern such as 'causal.train_*' selects several (repeatable)")
    run.add_argument("--json", metavar="FILE", help="write the results as JSON")
    run.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    run.add_argument("--report", metavar="DIR",
                     help="write DIR/report.md, DIR/report.json, figures and counterexample cases")
    explain = sub.add_parser("explain", help="print one claim's statement, proof idea, hypotheses and method")
    explain.add_argument("id", metavar="ID", help="claim id (see 'proofs-check list')")
    replay = sub.add_parser("replay", help="replay a saved counterexample case through its claim's replay hook")
    replay.add_argument("file", metavar="FILE", help="a counterexamples/<claim-id>-<k>.json file of a report")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    handlers = {"list": _list, "run": _run, "explain": _explain, "replay": _replay}
    try:
        return handlers[args.command](args, console)
    except UsageError as exc:
        _error(str(exc))
        return BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
