"""What the command line prints: one-line errors, the verdict table, the claim column, the progress of a run.

In a terminal a bar names the claims running; piped or with ``CI`` set, one flushed line per finished claim.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from proofs_check.registry import KIND_MARKER, Claim
from proofs_check.runner import Result

__all__ = ["make_console", "print_error", "MARKER", "VERDICT_COLOUR", "id_column", "RunProgress",
           "results_table"]


def make_console() -> Console:
    """The console of a command: piped or under CI the width is not a terminal's, so tables get room and no
    id or verdict is cut."""
    return Console() if sys.stdout.isatty() else Console(width=200, soft_wrap=False)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def print_error(message: str) -> None:
    """``error: MESSAGE`` on stderr, the message on one line."""
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    first = " ".join(str(message).split())
    err.print(f"[red]error:[/red] {escape(first)}")


MARKER = {kind: f"{mark} {kind}" if mark else "" for kind, mark in KIND_MARKER.items()}
VERDICT_COLOUR = {"holds": "green", "refuted": "red", "inconclusive": "yellow", "error": "magenta"}


def id_column(table: Table, claims: list[Claim]) -> None:
    """The claim column, never cut: full ids at any terminal width, piped output included."""
    width = max((len(c.id) for c in claims), default=5)
    table.add_column("claim", no_wrap=True, min_width=width)


def _progress_lines() -> bool:
    """One line per finished claim (not a bar) when stdout is not a terminal or a CI variable is set."""
    ci = os.environ.get("CI", "").strip().lower()
    return not sys.stdout.isatty() or ci not in ("", "0", "false", "no")


class RunProgress:
    """In a terminal, a bar naming the claims running; piped or under CI, one flushed line per finished claim."""

    def __init__(self, console: Console, total: int, done: int = 0):
        self.console, self.lines, self.total, self.done = console, _progress_lines(), total, done
        self.bar = None
        if not self.lines:
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console,
                                transient=True)
            self.task = self.bar.add_task("starting", total=total, completed=done)

    def __enter__(self) -> "RunProgress":
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

def results_table(results: list[Result], title: str) -> Table:
    """Verdict table: the test with its direction, the verdict against the expected one, the reason."""
    table = Table(title=title)
    id_column(table, [r.claim for r in results])
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
