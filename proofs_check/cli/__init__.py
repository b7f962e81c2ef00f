"""The ``proofs-check`` command line (``proofs_check.cli:main``): :mod:`.parser` (the commands and their options,
the ``--help`` text), :mod:`.inputs` (bad input refused in one line, exit status 2), :mod:`.console` (tables,
progress, errors), and the commands: :mod:`.run` (``run``, ``sweep``) and :mod:`.describe` (``list``,
``figures``, ``explain``, ``where``, ``replay``).  :data:`COMMANDS` maps each command to its function.
"""

from __future__ import annotations

from proofs_check.cli.console import make_console, print_error
from proofs_check.cli.describe import explain_command, figures_command, list_command, replay_command, where_command
from proofs_check.cli.inputs import BAD_INPUT, UsageError, check_packages, use_plugins
from proofs_check.cli.parser import build_parser
from proofs_check.cli.run import run_command, sweep_command

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = {"list": list_command, "run": run_command, "explain": explain_command, "replay": replay_command,
            "where": where_command, "sweep": sweep_command, "figures": figures_command}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = make_console()
    try:
        check_packages()
        use_plugins(args.plugins)
        return COMMANDS[args.command](args, console)
    except UsageError as exc:
        print_error(str(exc))
        return BAD_INPUT
