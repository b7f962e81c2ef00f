"""proofs-check sweep: grid parsing typed by the claim's parameters, sweep.json / .csv / .png, bad grids refused."""

from __future__ import annotations

import csv
import json

import pytest

from proofs_check.cli import main
from proofs_check.registry import all_claims
from proofs_check.report import PNG_MAGIC
from proofs_check.sweep import parse_grid


def test_grid_values_are_typed_by_the_declared_parameter():
    claims = all_claims()
    grid = parse_grid(["n=9,19,39", "S=5,10"], claims["causal.train_argmax_parent"])
    assert grid.values == {"n": [(9,), (19,), (39,)], "S": [(5,), (10,)]}  # tuple parameters: one-element tuples
    assert len(grid.points()) == 6 and grid.points()[1] == {"n": (9,), "S": (10,)}
    assert parse_grid(["samples=100,1000"], claims["ar.gd_step_loss"]).values == {"samples": [100, 1000]}


@pytest.mark.parametrize("grid, message", [
    ("nope=1,2", "'nope' is not a parameter of ar.gd_step_loss (declared: samples, symbolic_cases, invariance_samples, t_eta_t, loss_star_t)"),
    ("samples=10,abc", "samples expects a finite int, got 'abc'"),
    ("samples=", "samples has no values"),
    ("samples", "expected NAME=V1,V2"),
])
def test_bad_grid_is_refused_in_one_line(grid, message, tmp_path, capsys):
    assert main(["sweep", "ar.gd_step_loss", "--grid", grid, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s" / "sweep.json").exists()


def test_one_parameter_sweep_writes_json_csv_and_curve(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sweep", "ar.gd_step_loss", "--grid", "samples=500,5000", "--seeds", "3", "--quick",
                 "--out", str(out)]) == 0
    content = json.loads((out / "sweep.json").read_text())
    assert content["claim"] == "ar.gd_step_loss" and content["grid"] == {"samples": [500, 5000]}
    records = content["records"]
    assert [(r["point"]["samples"], r["seed"]) for r in records] == [(500, 0), (500, 1), (500, 2),
                                                                      (5000, 0), (5000, 1), (5000, 2)]
    assert all(r["verdict"] == "holds" and r["parameters"]["samples"] == r["point"]["samples"] for r in records)
    assert all(isinstance(r["measured"], float) and r["tests"][0]["name"] for r in records)
    # seeds differ, so the measured values do; the same seed reproduces its value
    assert len({r["measured"] for r in records}) == 6
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    assert [float(r["measured"]) for r in rows] == [r["measured"] for r in records]  # repr round-trips exactly
    assert rows[0].keys() >= {"samples", "seed", "verdict", "expected", "status", "measured"}
    assert (out / "sweep.png").read_bytes()[:8] == PNG_MAGIC
    again = tmp_path / "again"
    assert main(["sweep", "ar.gd_step_loss", "--grid", "samples=500", "--seeds", "2", "--quick",
                 "--out", str(again)]) == 0
    first = json.loads((again / "sweep.json").read_text())["records"]
    assert [r["measured"] for r in first] == [r["measured"] for r in records[:2]]  # same seeds: the same bits


def test_two_parameter_sweep_draws_a_phase_diagram(tmp_path, capsys):
    out = tmp_path / "phase"
    assert main(["sweep", "causal.edge_ranking_keys", "--grid", "examples=3,6", "--grid", "draws=200,400",
                 "--seeds", "2", "--quick", "-j", "1", "--out", str(out)]) == 0
    records = json.loads((out / "sweep.json").read_text())["records"]
    assert len(records) == 8 and {r["point"]["draws"] for r in records} == {200, 400}
    assert (out / "sweep.png").read_bytes()[:8] == PNG_MAGIC
    assert "2/2" in capsys.readouterr().out


def test_swept_and_fixed_parameter_clash_and_errors_exit_1(tmp_path, capsys):
    assert main(["sweep", "causal.train_argmax_parent", "--grid", "n=9", "--param", "n=9",
                 "--out", str(tmp_path / "a")]) == 2
    assert "both swept" in capsys.readouterr().err
    # n swept alone keeps S = (5, 10): the check refuses unpaired sizes, every run is an error, exit 1
    assert main(["sweep", "causal.train_argmax_parent", "--grid", "n=9", "--quick", "--out", str(tmp_path / "b")]) == 1
    assert "as many alphabet sizes" in capsys.readouterr().out
