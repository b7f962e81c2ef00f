"""The ``proofs-check`` command: ``list`` and ``run``."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from proofs_check.registry import Profile, all_claims
from proofs_check.runner import run_claims, select


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _list(args: argparse.Namespace, console: Console) -> int:
    table = Table(title="Registered claims")
    for col in ("id", "paper", "profile", "method"):
        table.add_column(col)
    for c in all_claims().values():
        table.add_row(c.id, c.paper, "quick+full" if c.quick else "full", c.method.splitlines()[0][:70])
    console.print(table)
    return 0


def _run(args: argparse.Namespace, console: Console) -> int:
    profile = Profile("quick" if args.quick else "full", seed=args.seed)
    claims = all_claims()
    try:
        selected = select(claims, profile, args.claim)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
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
            console.print(f"[magenta]{r.claim.id}[/]: {r.error}")
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error")}
    console.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors")
    if args.json:
        try:
            with open(args.json, "w") as fh:
                json.dump({"profile": profile.name, "seed": profile.seed,
                           "claims": [r.as_json() for r in results]}, fh, indent=2, default=float)
        except OSError as exc:
            console.print(f"[red]error:[/red] cannot write --json file {args.json!r}: {exc.strerror}")
            return 2
    return 0 if counts["pass"] == len(results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="proofs-check", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered claims")
    run = sub.add_parser("run", help="run claims and print their verdicts")
    run.add_argument("--quick", action="store_true", help="small sizes, whole suite under 2 minutes")
    run.add_argument("--claim", action="append", metavar="ID", help="run only this claim (repeatable)")
    run.add_argument("--json", metavar="FILE", help="write the results as JSON")
    run.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    args = parser.parse_args(argv)
    console = Console()
    handlers = {"list": _list, "run": _run}
    return handlers[args.command](args, console)


if __name__ == "__main__":
    sys.exit(main())
