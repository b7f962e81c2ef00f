"""``run`` and ``sweep``: the commands that run claims, in this process, on local workers (``-j N``) or on a
Dask cluster (``--scheduler``); ``run --jsonl``/``--resume`` keep and reread finished records.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from proofs_check.cli.console import RunProgress, print_error, results_table
from proofs_check.cli.inputs import UsageError, check_writable, load_claims, run_device
from proofs_check.registry import Claim, Profile
from proofs_check.runner import Result, parse_overrides, select
from proofs_check.timings import format_seconds

__all__ = ["INTERRUPTED", "run_command", "sweep_command"]

INTERRUPTED = 130


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
    if args.device != "auto":
        parts += ["--device", args.device]
    if args.report is not None:
        parts += ["--report", args.report]
    return " ".join(shlex.quote(p) for p in parts)


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


def _execute(tasks: list, claims: dict[str, Claim], *, jobs: int, client, figures: bool, progress: RunProgress,
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
            results[index] = run_claim(claims[task.claim_id], Profile(task.profile, task.seed, device=task.device),
                                       task.overrides)
            finished(index, results[index])
            if stop is not None and stop(results[index]):
                break
        return results
    return run_tasks(tasks, claims, jobs=jobs, client=client, figures=figures,
                     on_start=lambda running: progress.running([label(t) for t in running]),
                     on_result=finished, stop=stop)


def _estimate(claims: list[Claim], profile_name: str, recorded: dict[str, dict[str, float]]) -> tuple[float, int]:
    """The summed estimated seconds of ``claims`` at ``profile_name`` (:mod:`proofs_check.timings`, from the
    ``recorded`` times), and how many have no estimate."""
    from proofs_check.timings import estimate_seconds

    known = [estimate_seconds(c, profile_name, recorded)[0] for c in claims]
    return sum(s for s in known if s is not None), sum(s is None for s in known)


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
        if rec.get("device", "cpu") != profile.device:  # float32 training on another device gives other numbers
            raise UsageError(f"--resume: {path!r} trained on {rec.get('device')!r}; this run trains on "
                             f"{profile.device!r} (--device)")
        c = by_id.get(rec["id"])
        if c is None:
            continue
        wanted = json.loads(json.dumps(string_keys(dict(c.resolve(profile.name, overrides))), default=jsonable))
        if rec.get("parameters") != wanted:
            raise UsageError(f"--resume: {path!r} ran {c.id} with parameters {rec.get('parameters')}, this run "
                             f"asks for {wanted}")
        rec = {k: v for k, v in rec.items() if k not in ("profile", "seed", "device")}
        done[c.id] = result_from_record(rec, c)
    return done


def run_command(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.parallel import Task
    from proofs_check.runner import cut_short_line, jsonl_record

    args.profile = args.profile or "full"
    profile = Profile(args.profile, seed=args.seed, device=run_device(args.device, args.profile))
    claims = load_claims()
    try:
        selected = select(claims, profile, args.claim)
        overrides = parse_overrides(args.param or [], selected)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json is not None:
        check_writable(args.json, "--json")
    if args.resume is not None and args.jsonl is not None and args.jsonl != args.resume:
        raise UsageError("--jsonl and --resume name different files: --resume FILE appends to FILE")
    log_path = args.resume or args.jsonl
    if log_path is not None:
        check_writable(log_path, "--resume" if args.resume else "--jsonl")
    done = _resumed(args.resume, profile, selected, overrides) if args.resume is not None else {}
    if args.report is not None:
        from proofs_check.report import ReportError, prepare_report_dir

        try:
            prepare_report_dir(args.report)
        except ReportError as exc:
            raise UsageError(str(exc)) from None
    client = _backend(args)
    todo = [c for c in selected if c.id not in done]
    tasks = [Task(c.id, profile.name, profile.seed, overrides, profile.device) for c in todo]
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

    from proofs_check.timings import recorded_seconds, workers_line

    recorded = recorded_seconds()  # read once for both estimates, not once per claim
    estimate, unknown = _estimate(todo, profile.name, recorded)
    console.print(f"{len(todo)} claim(s) to run, estimated {format_seconds(estimate)} one at a time on 2 cores"
                  + (f" plus {unknown} without an estimate" if unknown else ""), soft_wrap=True)
    workers = args.jobs if client is None else max(1, sum(client.nthreads().values()))
    if workers > 1 and todo:
        console.print(workers_line(todo, profile.name, workers, recorded), soft_wrap=True)
    started = time.perf_counter()
    try:
        with RunProgress(console, len(selected), done=len(done)) as progress:
            results_new = _execute(tasks, claims, jobs=args.jobs, client=client, figures=args.report is not None,
                                   progress=progress, label=lambda t: t.claim_id, on_result=record,
                                   stop=(lambda r: r.status != "pass") if args.exitfirst else None)
    except KeyboardInterrupt:
        kept = f"; their records are in {log_path} (continue with --resume {shlex.quote(log_path)})" if log else ""
        print_error(f"interrupted: {len(done) + len(new)} of {len(selected)} claims finished{kept}")
        return INTERRUPTED
    finally:
        if log is not None:
            log.close()
        if client is not None:
            client.close()
    finished = {r.claim.id: r for r in results_new if r is not None}
    results = [done.get(c.id) or finished[c.id] for c in selected if c.id in done or c.id in finished]
    not_run = len(selected) - len(results)

    console.print(results_table(results, f"proofs-check ({profile.name} profile, seed {profile.seed})"))
    for r in results:
        if r.status != "pass":
            colour = "magenta" if r.status == "error" else "red"
            console.print(f"[{colour}]{escape(r.claim.id)}[/]: {r.verdict}, expected {r.expected}: "
                          f"{escape(r.explanation())}", soft_wrap=True)
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error")}
    known = [r for r in results if r.claim.kind != "theorem" and r.status == "pass"]
    console.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors "
                  f"({len(known)} of the passes are known refutations: findings and boundaries, marked ★ ◆)")
    console.print(f"wall time {format_seconds(time.perf_counter() - started)} (estimated {format_seconds(estimate)}"
                  + (f" plus {unknown} claim(s) without an estimate" if unknown else "") + ")", soft_wrap=True)
    if done:
        console.print(f"{len(done)} of these were read from {escape(args.resume)} (--resume), "
                      f"{len(finished)} run now")
    if not_run:
        console.print(f"stopped at the first unexpected verdict (-x): {not_run} claim(s) not run")
    if args.json is not None:
        from proofs_check.markdown import jsonable

        try:
            with open(args.json, "w") as fh:
                json.dump({"profile": profile.name, "seed": profile.seed, "device": profile.device,
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


def sweep_command(args: argparse.Namespace, console: Console) -> int:
    from proofs_check.markdown import fmt_number
    from proofs_check.parallel import Task
    from proofs_check.sweep import parse_grid, record, summary, write_sweep

    profile_name = args.profile = args.profile or "full"
    claims = load_claims()
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
    device = run_device(args.device, profile_name)
    tasks = [Task(c.id, profile_name, seed, {**fixed, **point}, device) for point in points for seed in range(args.seeds)]
    where = {id(t): (point, seed) for t, (point, seed) in
             zip(tasks, [(p, s) for p in points for s in range(args.seeds)])}

    def label(task: Task) -> str:
        point, seed = where[id(task)]
        values = " ".join(f"{k}={_grid_text(v)}" for k, v in point.items())
        return f"{c.id} {values} seed={seed}".replace("  ", " ")

    interrupted = False
    try:
        with RunProgress(console, len(tasks)) as progress:
            results = _execute(tasks, claims, jobs=args.jobs, client=client, figures=False, progress=progress,
                               label=label)
    except KeyboardInterrupt:
        interrupted, results = True, []
    finally:
        if client is not None:
            client.close()
    if interrupted:
        print_error("interrupted: the sweep was stopped; nothing written")
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
