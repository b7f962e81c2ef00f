"""The README's claims table and figures table, generated from the registry.

    python -m proofs_check.readme_table                   print the Markdown claims table
    python -m proofs_check.readme_table --write README.md replace both tables between their markers

The claims table sits in the file between the lines ``<!-- claims-table:start -->``
and ``<!-- claims-table:end -->``; the figures table (``proofs-check figures`` at the paper
profile) between ``<!-- figures-table:start -->`` and ``<!-- figures-table:end -->``, where
those markers are present; everything else in the file is kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proofs_check import registry
from proofs_check.markdown import first_sentence, md_cell
from proofs_check.registry import Claim

__all__ = ["START", "END", "FIGURES_START", "FIGURES_END", "claims_table", "figures_table",
           "replace_between_markers", "main"]

START = "<!-- claims-table:start -->"
END = "<!-- claims-table:end -->"
FIGURES_START = "<!-- figures-table:start -->"
FIGURES_END = "<!-- figures-table:end -->"

def claims_table(claims: dict[str, Claim]) -> str:
    """The Markdown table: id, paper, kind, first sentence of the statement, formulas, the test, reference, profile."""

    from proofs_check.verdicts import requirement

    lines = ["| id | paper | kind | statement | formula | holds when | reference | profile |",
             "|---|---|---|---|---|---|---|---|"]
    for c in sorted(claims.values(), key=lambda c: (list(registry.PAPERS).index(c.paper), c.id)):
        formulas = ", ".join(f"`{f.rsplit('.', 1)[-1]}`" for f in c.formulas)
        lines.append(f"| `{c.id}` | {md_cell(c.paper)} | {c.kind} | {md_cell(first_sentence(c.statement))} "
                     f"| {formulas} | {md_cell(requirement(c))} | {md_cell(c.reference)} "
                     f"| {registry.profiles_of(c)} |")
    if not claims:
        lines.append("| (no claims registered yet) | | | | | | | |")
    return "\n".join(lines)


def figures_table(claims: dict[str, Claim]) -> str:
    """The Markdown figures table: every experimental figure, the claims that rerun it (task, model,
    optimiser, budget at the paper profile: ``same`` or what differs) or check its theory."""
    from proofs_check.experiments import PARTS, figure_rows

    lines = ["| figure | claim | relation | task | model | optimiser | budget |", "|---|---|---|---|---|---|---|"]
    for r in figure_rows(claims, "paper"):
        claim_cell = f"`{r['claim']}`" if r["claim"] else "—"
        lines.append(f"| {md_cell(r['paper'])} {r['number']} | {claim_cell} | {md_cell(r['relation'])} | "
                     + " | ".join(md_cell(r[p]) for p in PARTS) + " |")
    return "\n".join(lines)


def replace_between_markers(text: str, table: str, start_marker: str = START, end_marker: str = END) -> str:
    """``text`` with the part between the markers replaced by ``table``; ValueError if markers are missing."""
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < 0:
        missing = " and ".join(m for m, i in ((start_marker, start), (end_marker, end)) if i < 0)
        raise ValueError(f"marker {missing} not found")
    if end < start:
        raise ValueError(f"marker {end_marker} comes before {start_marker}")
    return text[:start + len(start_marker)] + "\n\n" + table + "\n\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proofs_check.readme_table", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", metavar="FILE", help="replace the table between the markers in FILE")
    args = parser.parse_args(argv)
    if args.write:
        path = Path(args.write)
        try:
            text = path.read_text()
        except OSError as exc:
            print(f"error: cannot read {str(path)!r}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        if START not in text or END not in text:
            print(f"error: {str(path)!r} lacks the markers {START} and {END}; "
                  f"add them where the table should go", file=sys.stderr)
            return 2
    try:
        claims = registry.all_claims()
    except Exception as exc:
        print(f"error: cannot load the claims: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
              file=sys.stderr)
        return 2
    table = claims_table(claims)
    if not args.write:
        print(table)
        return 0
    try:
        new = replace_between_markers(text, table)
        if FIGURES_START in new or FIGURES_END in new:
            new = replace_between_markers(new, figures_table(claims), FIGURES_START, FIGURES_END)
        path.write_text(new)
    except ValueError as exc:
        print(f"error: {str(path)!r}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {str(path)!r}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"claims table ({len(claims)} claims) written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
