"""The grammar of ``proofs-check``: its commands, their options, and the types that refuse bad values in one line.

:data:`USAGE` is the text of ``proofs-check --help``.  A new option goes in :func:`build_parser`; options two
commands share have a function of their own (:func:`add_backend_arguments`, :func:`add_profile_arguments`).
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from proofs_check import registry
from proofs_check.cli.console import print_error
from proofs_check.cli.inputs import BAD_INPUT
from proofs_check.registry import CLAIM_KINDS, DEVICES, PROFILES

__all__ = ["USAGE", "add_backend_arguments", "add_profile_arguments", "build_parser"]

USAGE = """The ``proofs-check`` command: ``list``, ``run``, ``sweep``, ``explain``, ``replay`` and ``where``.

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


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr rather than usage plus message."""

    def error(self, message: str) -> NoReturn:
        print_error(f"{self.prog}: {message} (see '{self.prog} --help')")
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


def add_backend_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("-j", "--jobs", type=_positive, default=1, metavar="N",
                         help="run the claims in N local worker processes (same records as -j 1)")
    command.add_argument("--scheduler", metavar="ADDRESS",
                         help="run the claims on a Dask cluster, e.g. tcp://SCHEDULER:8786 (needs "
                              "pip install -e '.[distributed]')")
    command.add_argument("--device", choices=("auto",) + DEVICES, default="auto",
                         help="where the float32 training paths run; every check stays float64 on the CPU "
                              "(default auto: cuda for the paper profile when available, else cpu)")


def add_profile_arguments(command: argparse.ArgumentParser, quick_help: str) -> None:
    group = command.add_mutually_exclusive_group()
    group.add_argument("--profile", choices=PROFILES, default=None,
                       help="quick (small sizes), full (default; about 20 minutes on 2 cores) or paper (every "
                            "experiment at its paper's settings and budget: hours on 2 cores)")
    group.add_argument("--quick", dest="profile", action="store_const", const="quick",
                       help=f"the same as --profile quick: {quick_help}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="proofs-check", description=USAGE,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = sub.add_parser("list", help="list the registered claims")
    listing.add_argument("--kind", choices=CLAIM_KINDS, help="only claims of this kind ('finding': what the toolkit "
                                                       "shows the papers do not say)")
    listing.add_argument("--profile", choices=PROFILES, help="only this profile's claims, each with its estimated "
                                                             "wall time on 2 cores, and the total")
    listing.add_argument("-j", "--jobs", type=_positive, default=1, metavar="N",
                         help="with --profile: also the estimated wall time on N workers (units split, longest "
                              "first)")
    figures = sub.add_parser("figures", help="every experimental figure of the papers and the claims that rerun "
                                             "it: task, model, optimiser, budget (same, or what differs)")
    figures.add_argument("--profile", choices=PROFILES, default="paper",
                         help="compare the claims' settings at this profile (default: paper)")
    figures.add_argument("--json", metavar="FILE", help="write the same records as JSON")
    run = sub.add_parser("run", help="run claims and print their verdicts")
    add_profile_arguments(run, "whole suite under 2 minutes")
    run.add_argument("--claim", action="append", metavar="ID", help="run only this claim; a shell pattern such as 'causal.train_*' selects several (repeatable)")
    run.add_argument("--json", metavar="FILE", help="write the results as JSON")
    run.add_argument("--seed", type=_seed, default=0, help="seed of every random draw, a non-negative integer "
                                                           "(default 0)")
    run.add_argument("--param", action="append", metavar="NAME=VALUE",
                     help="override a declared parameter of the selected claims, e.g. n=39 or nu=50,100 "
                          "(repeatable; see 'proofs-check explain ID')")
    run.add_argument("--report", metavar="DIR",
                     help="write DIR/report.md, DIR/report.json, figures and counterexample cases")
    add_backend_arguments(run)
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
    add_profile_arguments(sweep, "quick-profile values for the parameters not swept")
    sweep.add_argument("--out", metavar="DIR", help="write DIR/sweep.json, sweep.csv and sweep.png "
                                                    "(default: sweep-CLAIM)")
    add_backend_arguments(sweep)
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
