"""Sweeps: one claim over a grid of its declared parameters and over seeds.

``proofs-check sweep CLAIM --grid n=9,19,39 --grid S=5,10 --seeds 5 --out DIR``
runs the claim at every grid point (the product of the ``--grid`` values, in
the order given) and seeds ``0 .. seeds-1``, and writes

- ``DIR/sweep.json``: ``{"claim", "profile", "grid", "seeds", "fixed", "records": [...]}``,
  one record per grid point and seed: ``point`` (the grid values), ``seed``,
  ``verdict``, ``expected``, ``status``, ``measured``, ``tests``,
  ``parameters`` (every resolved parameter), ``reason`` and ``seconds``;
- ``DIR/sweep.csv``: one row per record (grid values, seed, verdict, expected,
  status, measured, seconds);
- ``DIR/sweep.png``: with two grid parameters (or more: the first two, the
  others pooled), a phase diagram of the rate of the expected verdict, each
  cell annotated ``k/m``; with one, the measured value against the parameter,
  mean ± standard error over seeds, on log axes when every value is positive
  and spans a factor 10 or more, with the tolerance drawn; with none, the
  measured value per seed.

Each grid value is typed by the claim's :class:`~proofs_check.registry.Param`
(:func:`proofs_check.runner.parse_value`).  A parameter declared as a tuple
(``S`` and ``n`` of ``causal.train_argmax_parent`` are paired tuples) takes,
at each grid point, a one-element tuple: ``--grid n=9,19,39`` runs
``n = (9,)``, ``(19,)``, ``(39,)``; its paired parameter must then be
one-element too (grid it, or fix it with ``--param S=10``).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from proofs_check.markdown import jsonable, string_keys
from proofs_check.registry import Claim
from proofs_check.runner import Result, parse_value

__all__ = ["Grid", "parse_grid", "axis_value", "record", "summary", "write_csv", "write_figure",
           "write_sweep"]


@dataclass(frozen=True)
class Grid:
    """The swept parameters of one claim: ``values[name]`` in the order given, typed."""

    values: dict[str, list[Any]]

    @property
    def names(self) -> list[str]:
        return list(self.values)

    def points(self) -> list[dict[str, Any]]:
        """Every combination, the last parameter varying fastest (``[{}]`` for an empty grid)."""
        return [dict(zip(self.values, combo)) for combo in itertools.product(*self.values.values())]


def parse_grid(assignments: Iterable[str], claim: Claim) -> Grid:
    """``["n=9,19,39", "S=5,10"]`` -> a :class:`Grid`, each value typed by the claim's ``Param``.

    A tuple parameter takes one-element tuples.  Raises ``ValueError`` (message
    starting with ``grid``) for a malformed assignment, a parameter the claim
    does not declare, one named twice, no values, or a value of the wrong type.
    """
    values: dict[str, list[Any]] = {}
    for text in assignments:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"grid: expected NAME=V1,V2,..., got {text!r}")
        if name not in claim.parameters:
            known = ", ".join(claim.parameters) or "none"
            raise ValueError(f"grid: {name!r} is not a parameter of {claim.id} (declared: {known})")
        if name in values:
            raise ValueError(f"grid: {name!r} given twice; put all its values in one --grid {name}=V1,V2")
        items = [part.strip() for part in raw.split(",") if part.strip()]
        if not items:
            raise ValueError(f"grid: {name} has no values, expected {name}=V1,V2,...")
        like = claim.parameters[name].full
        try:
            values[name] = [parse_value(name, item, like) for item in items]
        except ValueError as exc:
            raise ValueError("grid: " + str(exc).removeprefix("param: ")) from None
    return Grid(values)


def axis_value(value: Any) -> Any:
    """A grid value as a table or an axis shows it: a one-element tuple as its item."""
    if isinstance(value, tuple) and len(value) == 1:
        return value[0]
    return value


def record(result: Result, point: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """One row of ``sweep.json`` (plain JSON types)."""
    row = {"point": dict(point), "seed": seed, "verdict": result.verdict, "expected": result.expected,
           "status": result.status, "measured": result.measured,
           "tests": [t.as_json() for t in result.tests], "parameters": result.parameters,
           "reason": result.explanation() or result.reason, "seconds": round(result.seconds, 3)}
    return json.loads(json.dumps(string_keys(row), default=jsonable))


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _log_axis(values: Sequence[float]) -> bool:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) >= 10


def summary(records: Sequence[Mapping[str, Any]], grid: Grid) -> list[dict[str, Any]]:
    """Per grid point: runs, runs with the expected verdict, mean and standard error of the measured value."""
    out = []
    for point in grid.points():
        key = json.loads(json.dumps(string_keys(point), default=jsonable))
        rows = [r for r in records if r["point"] == key]
        measured = [float(r["measured"]) for r in rows if isinstance(r["measured"], (int, float))]
        mean = float(np.mean(measured)) if measured else None
        se = float(np.std(measured, ddof=1) / math.sqrt(len(measured))) if len(measured) > 1 else None
        out.append({"point": point, "runs": len(rows), "expected": sum(r["status"] == "pass" for r in rows),
                    "errors": sum(r["verdict"] == "error" for r in rows), "mean": mean, "stderr": se,
                    "n_measured": len(measured)})
    return out


def write_csv(path: Path, records: Sequence[Mapping[str, Any]], grid: Grid) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*grid.names, "seed", "verdict", "expected", "status", "measured", "seconds"])
        for r in records:
            values = [axis_value(_as_tuple(r["point"][n])) for n in grid.names]
            writer.writerow([*values, r["seed"], r["verdict"], r["expected"], r["status"],
                             "" if r["measured"] is None else r["measured"], r["seconds"]])


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _label(value: Any) -> str:
    value = axis_value(value)
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def write_figure(path: Path, claim: Claim, grid: Grid, records: Sequence[Mapping[str, Any]], seeds: int) -> None:
    """``sweep.png``: the phase diagram (two or more grid parameters) or the curve (one, or none)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary(records, grid)
    title = f"{claim.id} ({claim.kind}; expected verdict: {claim.expected})"
    if len(grid.names) >= 2:
        fig = _phase_diagram(plt, claim, grid, rows, seeds, title)
    else:
        fig = _curve(plt, claim, grid, rows, records, seeds, title)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def _phase_diagram(plt, claim: Claim, grid: Grid, rows, seeds: int, title: str):
    xname, yname = grid.names[0], grid.names[1]
    xs, ys = grid.values[xname], grid.values[yname]
    hits = np.zeros((len(ys), len(xs)))
    runs = np.zeros((len(ys), len(xs)))
    measured: dict[tuple[int, int], list[float]] = {}
    for row in rows:
        i, j = ys.index(row["point"][yname]), xs.index(row["point"][xname])
        hits[i, j] += row["expected"]
        runs[i, j] += row["runs"]
        if row["mean"] is not None:
            measured.setdefault((i, j), []).append(row["mean"])
    rate = np.divide(hits, runs, out=np.full_like(hits, np.nan), where=runs > 0)
    fig, ax = plt.subplots(figsize=(1.3 * len(xs) + 3, 1.0 * len(ys) + 2.2))
    image = ax.imshow(rate, origin="lower", cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    for i in range(len(ys)):
        for j in range(len(xs)):
            mean = f"\nmean {np.mean(measured[i, j]):.3g}" if (i, j) in measured else ""
            ax.text(j, i, f"{int(hits[i, j])}/{int(runs[i, j])}{mean}", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(xs)), [_label(v) for v in xs])
    ax.set_yticks(range(len(ys)), [_label(v) for v in ys])
    ax.set_xlabel(xname)
    ax.set_ylabel(yname)
    pooled = [n for n in grid.names[2:]]
    note = f"; pooled over {', '.join(pooled)}" if pooled else ""
    ax.set_title(f"{title}\nrate of the verdict '{claim.expected}' over {seeds} seed(s){note}; "
                 f"mean of the measured value", fontsize=9)
    fig.colorbar(image, ax=ax, label=f"fraction {claim.expected}")
    return fig


def _curve(plt, claim: Claim, grid: Grid, rows, records, seeds: int, title: str):
    fig, ax = plt.subplots(figsize=(6, 4))
    tol = claim.tolerance
    if not grid.names:  # seeds only: the measured value per seed
        pts = [(r["seed"], r["measured"]) for r in records if isinstance(r["measured"], (int, float))]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o")
        ax.set_xlabel("seed")
    else:
        name = grid.names[0]
        xs = [axis_value(v) for v in grid.values[name]]
        numeric = _numeric(xs)
        pos = xs if numeric else list(range(len(xs)))
        keep = [(p, row) for p, row in zip(pos, rows) if row["mean"] is not None]
        means = [row["mean"] for _, row in keep]
        errs = [row["stderr"] or 0.0 for _, row in keep]
        ax.errorbar([p for p, _ in keep], means, yerr=errs, fmt="o-", capsize=4,
                    label=f"mean ± standard error over {seeds} seed(s)")
        for p, row in keep:
            if row["expected"] < row["runs"]:
                ax.annotate(f"{row['expected']}/{row['runs']} {claim.expected}", (p, row["mean"]),
                            textcoords="offset points", xytext=(4, 6), fontsize=8, color="tab:red")
        if numeric and _log_axis(xs):
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(pos, [_label(v) for v in grid.values[name]], rotation=20, ha="right")
        ax.set_xlabel(name)
        if _log_axis(means):
            ax.set_yscale("log")
    if math.isfinite(tol) and (tol > 0 or ax.get_yscale() != "log"):
        ax.axhline(tol, color="grey", ls="--", lw=1, label=f"tolerance (holds when {claim.direction} {tol:g})")
    ax.set_ylabel(textwrap.fill(claim.measured, 45), fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return fig


def write_sweep(out: Path, claim: Claim, profile_name: str, grid: Grid, seeds: int, fixed: Mapping[str, Any],
                records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Write ``sweep.json``, ``sweep.csv`` and ``sweep.png`` into ``out``; return the JSON content."""
    out.mkdir(parents=True, exist_ok=True)
    content = {"claim": claim.id, "kind": claim.kind, "expected": claim.expected, "profile": profile_name,
               "measured_quantity": claim.measured, "direction": claim.direction, "tolerance": claim.tolerance,
               "grid": grid.values, "seeds": seeds, "fixed": dict(fixed), "records": list(records)}
    content = json.loads(json.dumps(string_keys(content), default=jsonable))
    (out / "sweep.json").write_text(json.dumps(content, indent=2) + "\n")
    write_csv(out / "sweep.csv", records, grid)
    write_figure(out / "sweep.png", claim, grid, records, seeds)
    return content
