"""The ``proofs-check`` command: ``list``, ``run``, ``sweep``, ``explain``, ``replay`` and ``where``.

    proofs-check list [--kind KIND]                the registered claims (theorem, boundary, finding)
    proofs-check run [--quick] [--claim ID]... [--param NAME=VALUE]... [--seed N] [--json FILE] [--report DIR]
                     [-j N | --scheduler ADDRESS] [--jsonl FILE | --resume FILE] [-x]
    proofs-check sweep CLAIM --grid NAME=V1,V2... [--seeds K] [--param NAME=VALUE]... [--quick]
                     [-j N | --scheduler ADDRESS] [--out DIR]
                                                   one claim over a grid of its parameters and seeds:
                                                   DIR/sweep.json, sweep.csv, sweep.png
    proofs-check explain ID                        one claim: statement, proof idea, hypotheses, method, test
    proofs-check replay FILE                       re-check one saved counterexample case
    proofs-check where NAME                        where a formula is implemented, and every claim and test
                                                   that checks it

``run`` exits 0 iff every claim's verdict is the one its kind expects: a
theorem holds, a boundary search finds its counterexample, a finding stays
refuted.  Otherwise it exits 1 and the table says which claim and why.
Bad input (an unknown claim, an unwritable folder, a malformed case file)
gives a one-line error on stderr and exit status 2, before any claim runs.

``-j N`` runs the claims in N local worker processes and ``--scheduler
ADDRESS`` on a Dask cluster; the records are those of a serial run with the
same seed, in registry order.  ``--jsonl FILE`` writes one JSON line per
finished claim as it finishes (its ``as_json`` record plus ``profile`` and
``seed``); Ctrl-C keeps those lines and exits 130, and ``--resume FILE`` runs
only the claims FILE lacks, appends them, and prints the whole table (a
resumed claim has no figure in ``--report``; a last line cut short by a
killed run is dropped and its claim run again).  ``-x`` stops at the first
verdict that is not the expected one.  In a terminal a bar names the claims
running; piped or with ``CI`` set, one line per finished claim.  ``sweep``
exits 1 if a run's check raised (verdict ``error``), else 0: the verdicts
across a grid are its data.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shlex
import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from proofs_check import registry
from proofs_check.registry import CLAIM_KINDS, KIND_MARKER, PROFILES, Claim, Outcome, Profile, profiles_of
from proofs_check.runner import Result, parse_overrides, select
from proofs_check.verdicts import judge, requirement

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


MARKER = {kind: f"{mark} {kind}" if mark else "" for kind, mark in KIND_MARKER.items()}
VERDICT_COLOUR = {"holds": "green", "refuted": "red", "inconclusive": "yellow", "error": "magenta"}


def _id_column(table: Table, claims: list[Claim]) -> None:
    """The claim column, never cut: full ids at any terminal width, piped output included."""
    width = max((len(c.id) for c in claims), default=5)
    table.add_column("claim", no_wrap=True, min_width=width)


def _list(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.timings import estimate_seconds, format_seconds

    claims = [c for c in _load_claims().values() if args.kind is None or c.kind == args.kind]
    profile = None if args.profile is None else Profile(args.profile)
    if profile is not None:
        claims = select({c.id: c for c in claims}, profile)
    title = "Registered claims" + (f" of kind {args.kind}" if args.kind else "")
    table = Table(title=title + (f", {profile.name} profile" if profile else ""))
    _id_column(table, claims)
    for col in ("kind", "paper", "profile"):
        table.add_column(col, no_wrap=True)
    if profile is not None:
        table.add_column("estimate", no_wrap=True, justify="right")
    table.add_column("statement", ratio=1)
    total, unknown = 0.0, 0
    for c in claims:
        row = [c.id, c.kind, c.paper, profiles_of(c)]
        if profile is not None:
            seconds, source = estimate_seconds(c, profile.name)
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
    return 0


def _figures(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.experiments import PARTS, figure_rows

    rows = figure_rows(_load_claims(), args.profile)
    if args.json is not None:
        _check_writable(args.json, "--json")
        Path(args.json).write_text(json.dumps({"profile": args.profile, "figures": rows}, indent=1) + "\n")
    table = Table(title=f"Figures of the papers' experiments and the claims that rerun them ({args.profile} profile)")
    for col in ("figure", "claim", "relation", *PARTS):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(f"{r['paper']} {r['number']}", r["claim"] or "—", r["relation"],
                      *(escape(r[p]) for p in PARTS))
    console.print(table)
    return 0


def _reproduce_command(args: argparse.Namespace) -> str:
    parts = ["proofs-check", "run"]
    if args.profile == "quick":
        parts.append("--quick")
    elif args.profile == "paper":
        parts += ["--profile", "paper"]
    for claim_id in args.claim or []:
        parts += ["--claim", claim_id]
    for assignment in args.param or []:
        parts += ["--param", assignment]
    parts += ["--seed", str(args.seed)]
    if args.report is not None:
        parts += ["--report", args.report]
    return " ".join(shlex.quote(p) for p in parts)


INTERRUPTED = 130


def _progress_lines() -> bool:
    """One line per finished claim (not a bar) when stdout is not a terminal or a CI variable is set."""
    ci = os.environ.get("CI", "").strip().lower()
    return not sys.stdout.isatty() or ci not in ("", "0", "false", "no")


class _RunProgress:
    """In a terminal, a bar naming the claims running; piped or under CI, one flushed line per finished claim."""

    def __init__(self, console: Console, total: int, done: int = 0):
        self.console, self.lines, self.total, self.done = console, _progress_lines(), total, done
        self.bar = None
        if not self.lines:
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console,
                                transient=True)
            self.task = self.bar.add_task("starting", total=total, completed=done)

    def __enter__(self) -> "_RunProgress":
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def running(self, labels: list[str]) -> None:
        if self.bar is not None:
            shown = ", ".join(labels[:3]) + (f" (+{len(labels) - 3})" if len(labels) > 3 else "")
            self.bar.update(self.task, description=f"running {escape(shown)}")

    def finished(self, label: str, result: Result) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1)
        else:
            print(f"[{self.done}/{self.total}] {label}  {result.verdict}  {result.status}  {result.seconds:.2f}s",
                  flush=True)


def _backend(args: argparse.Namespace):
    """The Dask client of ``--scheduler`` (connected now, before any work), else None."""
    if getattr(args, "scheduler", None) is None:
        return None
    from proofs_check.parallel import ParallelError, dask_client

    if args.jobs != 1:
        raise UsageError("-j and --scheduler: choose one (the cluster's workers set the parallelism)")
    try:
        return dask_client(args.scheduler)
    except ParallelError as exc:
        raise UsageError(str(exc)) from None


def _execute(tasks: list, claims: dict[str, Claim], *, jobs: int, client, figures: bool, progress: _RunProgress,
             label, on_result=None, stop=None) -> list[Result | None]:
    """Run ``tasks`` in this process (``jobs == 1``, no client), on local workers, or on the Dask cluster."""
    from proofs_check.parallel import run_tasks
    from proofs_check.runner import run_claim

    def finished(index: int, result: Result) -> None:
        progress.finished(label(tasks[index]), result)
        if on_result is not None:
            on_result(result)

    if client is None and jobs == 1:
        results: list[Result | None] = [None] * len(tasks)
        for index, task in enumerate(tasks):
            progress.running([label(task)])
            results[index] = run_claim(claims[task.claim_id], Profile(task.profile, task.seed), task.overrides)
            finished(index, results[index])
            if stop is not None and stop(results[index]):
                break
        return results
    return run_tasks(tasks, claims, jobs=jobs, client=client, figures=figures,
                     on_start=lambda running: progress.running([label(t) for t in running]),
                     on_result=finished, stop=stop)


def _resumed(path: str, profile: Profile, selected: list[Claim], overrides: dict) -> dict[str, Result]:
    """The finished results recorded in ``path`` for the selected claims, checked against this run."""
    from proofs_check.markdown import jsonable, string_keys
    from proofs_check.runner import read_jsonl, result_from_record

    try:
        records = read_jsonl(path)
    except OSError as exc:
        raise UsageError(f"--resume: cannot read {path!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"--resume: {path!r}: {exc}") from None
    by_id = {c.id: c for c in selected}
    done: dict[str, Result] = {}
    for rec in records:
        if rec.get("profile") != profile.name or rec.get("seed") != profile.seed:
            raise UsageError(f"--resume: {path!r} holds a run of profile {rec.get('profile')!r}, seed "
                             f"{rec.get('seed')!r}; this run is profile {profile.name!r}, seed {profile.seed}")
        c = by_id.get(rec["id"])
        if c is None:
            continue
        wanted = json.loads(json.dumps(string_keys(dict(c.resolve(profile.name, overrides))), default=jsonable))
        if rec.get("parameters") != wanted:
            raise UsageError(f"--resume: {path!r} ran {c.id} with parameters {rec.get('parameters')}, this run "
                             f"asks for {wanted}")
        rec = {k: v for k, v in rec.items() if k not in ("profile", "seed")}
        done[c.id] = result_from_record(rec, c)
    return done


def _run(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.parallel import Task
    from proofs_check.runner import cut_short_line, jsonl_record

    args.profile = args.profile or "full"
    profile = Profile(args.profile, seed=args.seed)
    claims = _load_claims()
    try:
        selected = select(claims, profile, args.claim)
        overrides = parse_overrides(args.param or [], selected)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json is not None:
        _check_writable(args.json, "--json")
    if args.resume is not None and args.jsonl is not None and args.jsonl != args.resume:
        raise UsageError("--jsonl and --resume name different files: --resume FILE appends to FILE")
    log_path = args.resume or args.jsonl
    if log_path is not None:
        _check_writable(log_path, "--resume" if args.resume else "--jsonl")
    done = _resumed(args.resume, profile, selected, overrides) if args.resume is not None else {}
    if args.report is not None:
        from proofs_check.report import ReportError, prepare_report_dir

        try:
            prepare_report_dir(args.report)
        except ReportError as exc:
            raise UsageError(str(exc)) from None
    client = _backend(args)
    todo = [c for c in selected if c.id not in done]
    tasks = [Task(c.id, profile.name, profile.seed, overrides) for c in todo]
    new: list[Result] = []
    try:
        cut = cut_short_line(args.resume, drop=True) if args.resume is not None else ""
        # unbuffered: each record goes to the file in one write, newline included, as soon as it is known
        log = open(log_path, "ab" if args.resume else "wb", buffering=0) if log_path is not None else None
    except OSError as exc:
        raise UsageError(f"cannot write {log_path!r}: {exc.strerror or exc}") from None
    if cut:
        console.print(f"--resume: the last line of {escape(args.resume)} was cut short (the run was killed while "
                      f"writing it): dropped, its claim runs again", soft_wrap=True)

    def record(result: Result) -> None:
        new.append(result)
        if log is not None:
            line = (jsonl_record(result, profile) + "\n").encode()
            while line:  # a regular file takes it all in one call; a short write is finished, not lost
                line = line[log.write(line):]

    try:
        with _RunProgress(console, len(selected), done=len(done)) as progress:
            results_new = _execute(tasks, claims, jobs=args.jobs, client=client, figures=args.report is not None,
                                   progress=progress, label=lambda t: t.claim_id, on_result=record,
                                   stop=(lambda r: r.status != "pass") if args.exitfirst else None)
    except KeyboardInterrupt:
        kept = f"; their records are in {log_path} (continue with --resume {shlex.quote(log_path)})" if log else ""
        _error(f"interrupted: {len(done) + len(new)} of {len(selected)} claims finished{kept}")
        return INTERRUPTED
    finally:
        if log is not None:
            log.close()
        if client is not None:
            client.close()
    finished = {r.claim.id: r for r in results_new if r is not None}
    results = [done.get(c.id) or finished[c.id] for c in selected if c.id in done or c.id in finished]
    not_run = len(selected) - len(results)

    console.print(_results_table(results, f"proofs-check ({profile.name} profile, seed {profile.seed})"))
    for r in results:
        if r.status != "pass":
            colour = "magenta" if r.status == "error" else "red"
            console.print(f"[{colour}]{escape(r.claim.id)}[/]: {r.verdict}, expected {r.expected}: "
                          f"{escape(r.explanation())}", soft_wrap=True)
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error")}
    known = [r for r in results if r.claim.kind != "theorem" and r.status == "pass"]
    console.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors "
                  f"({len(known)} of the passes are known refutations: findings and boundaries, marked ★ ◆)")
    if done:
        console.print(f"{len(done)} of these were read from {escape(args.resume)} (--resume), "
                      f"{len(finished)} run now")
    if not_run:
        console.print(f"stopped at the first unexpected verdict (-x): {not_run} claim(s) not run")
    if args.json is not None:
        from proofs_check.markdown import jsonable

        try:
            with open(args.json, "w") as fh:
                json.dump({"profile": profile.name, "seed": profile.seed,
                           "claims": [r.as_json() for r in results]}, fh, indent=2, default=jsonable)
        except OSError as exc:
            raise UsageError(f"cannot write --json file {args.json!r}: {exc.strerror or exc}") from None
    if args.report is not None:
        from proofs_check.report import ReportError, write_report

        chosen = {c.id for c in selected}
        not_run_claims = [] if args.claim else [c for c in claims.values() if c.id not in chosen]
        try:
            with console.status("writing the report and its figures"):
                write_report(results, profile, args.report, command=_reproduce_command(args),
                             not_run=not_run_claims)
        except ReportError as exc:
            raise UsageError(str(exc)) from None
        console.print(f"report written to {escape(args.report.rstrip('/'))}/report.md")
    return 0 if counts["pass"] == len(results) and not not_run else 1


def _sweep(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.markdown import fmt_number
    from proofs_check.parallel import Task
    from proofs_check.sweep import parse_grid, record, summary, write_sweep

    profile_name = args.profile = args.profile or "full"
    claims = _load_claims()
    if args.id not in claims:
        raise UsageError(f"claim: unknown claim id {args.id}; see 'proofs-check list'")
    c = claims[args.id]
    try:
        grid = parse_grid(args.grid, c)
        fixed = parse_overrides(args.param, [c])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    both = sorted(set(grid.values) & set(fixed))
    if both:
        raise UsageError(f"grid: {', '.join(both)} both swept (--grid) and fixed (--param); choose one")
    out = Path(args.out if args.out is not None else f"sweep-{c.id}")
    from proofs_check.report import make_writable_folder

    try:
        make_writable_folder(out)
    except OSError as exc:
        raise UsageError(f"--out: cannot write the folder {str(out)!r}: {exc.strerror or exc}") from None
    client = _backend(args)
    points = grid.points()
    tasks = [Task(c.id, profile_name, seed, {**fixed, **point}) for point in points for seed in range(args.seeds)]
    where = {id(t): (point, seed) for t, (point, seed) in
             zip(tasks, [(p, s) for p in points for s in range(args.seeds)])}

    def label(task: Task) -> str:
        point, seed = where[id(task)]
        values = " ".join(f"{k}={_grid_text(v)}" for k, v in point.items())
        return f"{c.id} {values} seed={seed}".replace("  ", " ")

    interrupted = False
    try:
        with _RunProgress(console, len(tasks)) as progress:
            results = _execute(tasks, claims, jobs=args.jobs, client=client, figures=False, progress=progress,
                               label=label)
    except KeyboardInterrupt:
        interrupted, results = True, []
    finally:
        if client is not None:
            client.close()
    if interrupted:
        _error("interrupted: the sweep was stopped; nothing written")
        return INTERRUPTED
    records = [record(r, *where[id(t)]) for t, r in zip(tasks, results) if r is not None]
    write_sweep(out, c, profile_name, grid, args.seeds, fixed, records)

    console.print(f"sweep of {escape(c.id)} ({profile_name} profile, seeds 0..{args.seeds - 1}; expected verdict "
                  f"{c.expected}; measured: {escape(c.measured)})", soft_wrap=True)
    table = Table()
    for name in grid.names:
        table.add_column(name, no_wrap=True)
    table.add_column(f"{c.expected}", no_wrap=True)
    table.add_column("measured (mean ± s.e.)", no_wrap=True)
    for row in summary(records, grid):
        mean = "-" if row["mean"] is None else fmt_number(row["mean"])
        if row["stderr"] is not None:
            mean += f" ± {fmt_number(row['stderr'])}"
        table.add_row(*[_grid_text(row["point"][n]) for n in grid.names], f"{row['expected']}/{row['runs']}",
                      mean)
    console.print(table)
    errors = [r for r in records if r["verdict"] == "error"]
    for reason in sorted({r["reason"] for r in errors})[:3]:
        console.print(f"[magenta]error[/]: {escape(reason)}", soft_wrap=True)
    console.print(f"sweep written to {escape(str(out))}/sweep.json, sweep.csv and sweep.png")
    return 1 if errors else 0


def _grid_text(value) -> str:
    from proofs_check.sweep import axis_value

    value = axis_value(value)
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


LAYERS = ("theory", "model", "numerics")


def _check_packages() -> None:
    """Refuse to start when a file of the user's shadows a package of the toolkit (a ``model.py`` in the
    working folder, say): every claim would import the wrong module."""
    import importlib.util

    home = Path(__file__).resolve().parent.parent
    for name in LAYERS:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as exc:
            raise UsageError(f"cannot import the toolkit's package {name!r}: {exc}") from None
        if spec is None:
            raise UsageError(f"the toolkit's package {name!r} is not installed: pip install -e .")
        origin = Path(spec.origin).resolve() if spec.origin else None
        if spec.submodule_search_locations is None or origin is None or origin.parent != home / name:
            raise UsageError(f"{origin or spec.name} shadows the toolkit's package {name!r} ({home / name}): "
                             f"rename it or run proofs-check from another folder")


def _results_table(results: list[Result], title: str) -> Table:
    """Verdict table: the test with its direction, the verdict against the expected one, the reason."""
    table = Table(title=title)
    _id_column(table, [r.claim for r in results])
    for col in ("kind", "verdict", "test", "status", "seconds"):
        table.add_column(col, no_wrap=col in ("verdict", "status", "seconds"))
    for r in results:
        verdict = f"[{VERDICT_COLOUR[r.verdict]}]{r.verdict}[/]"
        if r.verdict != r.expected:
            verdict += f" (expected {r.expected})"
        status = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "error": "[magenta]ERROR[/]"}[r.status]
        table.add_row(r.claim.id, MARKER[r.claim.kind] or "theorem", verdict, escape(_test_text(r)), status,
                      f"{r.seconds:.2f}")
    return table


def _test_text(r: Result) -> str:
    """``0.0218 >= 1e-06 required`` for the measured value, with each failing condition after it."""
    if not r.tests:
        return f"{r.claim.direction} {_fmt(r.claim.tolerance)} required: nothing measured"
    head = r.tests[0]
    text = f"{_fmt(head.value)} {r.claim.direction} {_fmt(r.claim.tolerance)} required"
    failing = [t for t in r.tests[1:] if not t.ok]
    if failing:
        text += "; " + "; ".join(t.describe() for t in failing)
    return text


def _check_writable(path: str, option: str) -> None:
    """Refuse an empty or unwritable output path before any claim runs."""
    import os

    if not path.strip():
        raise UsageError(f"{option}: expected a file path, got an empty string")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{option}: {path!r} is a folder, expected a file path")
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"{option}: cannot write {path!r}: folder {folder!r} is missing or not writable")


def _explain(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.markdown import clean_text

    claims = _load_claims()
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


def _where(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.where import WhereError, locate

    claims = _load_claims()
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


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr rather than usage plus message."""

    def error(self, message: str) -> NoReturn:
        _error(f"{self.prog}: {message} (see '{self.prog} --help')")
        raise SystemExit(BAD_INPUT)


def _integer_at_least(minimum: int, what: str):
    """An argparse type: an integer >= ``minimum``, refused in one line otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


_seed = _integer_at_least(0, "a non-negative integer")
_positive = _integer_at_least(1, "a positive integer")


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("icl-theory-check")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def _add_backend_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("-j", "--jobs", type=_positive, default=1, metavar="N",
                         help="run the claims in N local worker processes (same records as -j 1)")
    command.add_argument("--scheduler", metavar="ADDRESS",
                         help="run the claims on a Dask cluster, e.g. tcp://SCHEDULER:8786 (needs "
                              "pip install -e '.[distributed]')")


def _add_profile_arguments(command: argparse.ArgumentParser, quick_help: str) -> None:
    group = command.add_mutually_exclusive_group()
    group.add_argument("--profile", choices=PROFILES, default=None,
                       help="quick (small sizes), full (default; about 20 minutes on 2 cores) or paper (every "
                            "experiment at its paper's settings and budget: hours on 2 cores)")
    group.add_argument("--quick", dest="profile", action="store_const", const="quick",
                       help=f"the same as --profile quick: {quick_help}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="proofs-check", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = sub.add_parser("list", help="list the registered claims")
    listing.add_argument("--kind", choices=CLAIM_KINDS, help="only claims of this kind ('finding': what the toolkit "
                                                       "shows the papers do not say)")
    listing.add_argument("--profile", choices=PROFILES, help="only this profile's claims, each with its estimated "
                                                             "wall time on 2 cores, and the total")
    figures = sub.add_parser("figures", help="every experimental figure of the papers and the claims that rerun "
                                             "it: task, model, optimiser, budget (same, or what differs)")
    figures.add_argument("--profile", choices=PROFILES, default="paper",
                         help="compare the claims' settings at this profile (default: paper)")
    figures.add_argument("--json", metavar="FILE", help="write the same records as JSON")
    run = sub.add_parser("run", help="run claims and print their verdicts")
    _add_profile_arguments(run, "whole suite under 2 minutes")
    run.add_argument("--claim", action="append", metavar="ID", help="run only this claim; a shell pattern such as 'causal.train_*' selects several (repeatable)")
    run.add_argument("--json", metavar="FILE", help="write the results as JSON")
    run.add_argument("--seed", type=_seed, default=0, help="seed of every random draw, a non-negative integer "
                                                           "(default 0)")
    run.add_argument("--param", action="append", metavar="NAME=VALUE",
                     help="override a declared parameter of the selected claims, e.g. n=39 or nu=50,100 "
                          "(repeatable; see 'proofs-check explain ID')")
    run.add_argument("--report", metavar="DIR",
                     help="write DIR/report.md, DIR/report.json, figures and counterexample cases")
    _add_backend_arguments(run)
    run.add_argument("--jsonl", metavar="FILE",
                     help="append one JSON line per finished claim to FILE as it finishes (FILE is started "
                          "afresh); Ctrl-C keeps the finished ones")
    run.add_argument("--resume", metavar="FILE",
                     help="read the finished claims from a --jsonl FILE, run only the missing ones (appending "
                          "them to FILE) and print the whole table")
    run.add_argument("-x", "--exitfirst", action="store_true",
                     help="stop at the first claim whose verdict is not the expected one")
    sweep = sub.add_parser("sweep", help="run one claim over a grid of its declared parameters and over seeds")
    sweep.add_argument("id", metavar="CLAIM", help="claim id (see 'proofs-check explain CLAIM' for its parameters)")
    sweep.add_argument("--grid", action="append", metavar="NAME=V1,V2,...", default=[],
                       help="values of a declared parameter (repeatable; the grid is their product); a tuple "
                            "parameter takes one-element tuples: n=9,19 runs n=(9,) and n=(19,)")
    sweep.add_argument("--seeds", type=_positive, default=1, metavar="K", help="run seeds 0..K-1 at every point "
                                                                              "(default 1)")
    sweep.add_argument("--param", action="append", metavar="NAME=VALUE", default=[],
                       help="fix a declared parameter for the whole sweep (e.g. S=10 when only n is swept)")
    _add_profile_arguments(sweep, "quick-profile values for the parameters not swept")
    sweep.add_argument("--out", metavar="DIR", help="write DIR/sweep.json, sweep.csv and sweep.png "
                                                    "(default: sweep-CLAIM)")
    _add_backend_arguments(sweep)
    explain = sub.add_parser("explain", help="print one claim's statement, proof idea, hypotheses and method")
    explain.add_argument("id", metavar="ID", help="claim id (see 'proofs-check list')")
    replay = sub.add_parser("replay", help="replay a saved counterexample case through its claim's replay hook")
    replay.add_argument("file", metavar="FILE", help="a counterexamples/<claim-id>-<k>.json file of a report")
    where = sub.add_parser("where", help="where a formula is implemented, and the claims and tests that check it")
    where.add_argument("name", metavar="NAME", help="a function or class, bare (attention_gradient_at_init) or "
                                                    "dotted (theory.gradients.attention_gradient_at_init)")
    for command in sub.choices.values():
        command.add_argument("-p", dest="plugins", action="append", default=[], metavar="MODULE",
                             help="also load the claims of MODULE, a module on the path (as pytest's -p; "
                                  "repeatable); workers and the pytest plugin see them through "
                                  f"{registry.PLUGINS_VARIABLE}")
    return parser


def use_plugins(modules: list[str]) -> None:
    """Load the claims modules of ``-p`` and name them in :data:`registry.PLUGINS_VARIABLE`, so that worker
    processes (``-j``) load them too."""
    if not modules:
        return
    if os.getcwd() not in sys.path:  # a module in the current folder, as `python -m` would find it
        sys.path.insert(0, os.getcwd())
    known = registry.plugin_modules()
    os.environ[registry.PLUGINS_VARIABLE] = ",".join(known + [m for m in modules if m not in known])
    try:
        registry.load_plugins(modules)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # piped or under CI the width is not a terminal's: give tables room so no id or verdict is cut
    console = Console() if sys.stdout.isatty() else Console(width=200, soft_wrap=False)
    handlers = {"list": _list, "run": _run, "explain": _explain, "replay": _replay, "where": _where,
                "sweep": _sweep, "figures": _figures}
    try:
        _check_packages()
        use_plugins(args.plugins)
        return handlers[args.command](args, console)
    except UsageError as exc:
        _error(str(exc))
        return BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
