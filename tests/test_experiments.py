"""The paper profile, the figures table (proofs_check.experiments), time estimates (proofs_check.timings)."""

from __future__ import annotations

import json

import pytest

from proofs_check.cli import main
from proofs_check.experiments import FIGURES, PARTS, Rerun, compare_settings, figure_rows
from proofs_check.registry import Param, Profile, all_claims
from proofs_check.timings import estimate_seconds, format_seconds, job_seconds, record_timings, workers_estimate


def test_a_param_takes_its_paper_value_or_the_full_one():
    p = Param(1, 2, "h")
    assert [p.value(name) for name in ("quick", "full", "paper")] == [1, 2, 2]
    q = Param(1, 2, "h", paper=3)
    assert [q.value(name) for name in ("quick", "full", "paper")] == [1, 2, 3]
    with pytest.raises(ValueError, match="^profile"):
        Profile("huge")


def test_unit_generators_depend_on_the_whole_name_and_the_unit_only():
    profile = Profile("quick", seed=4)
    draw = lambda name, k: profile.unit_rng(name, k).integers(2 ** 62)  # noqa: E731
    assert draw("causal.a/graph", 3) == draw("causal.a/graph", 3)  # exact: the same integer draw
    assert len({draw("causal.a/graph", 0), draw("causal.a/graph", 1), draw("causal.b/graph", 0)}) == 3
    assert Profile("quick", seed=5).unit_rng("causal.a/graph", 0).integers(2 ** 62) != draw("causal.a/graph", 0)
    with pytest.raises(ValueError, match="^unit"):
        profile.unit_rng("x", -1)


def test_settings_are_compared_entry_by_entry():
    official = {"S": 10, "graph": "chain"}
    assert compare_settings(official, {"S": 10, "graph": "chain", "extra": 1}) == "same"
    assert compare_settings(official, {"S": 5, "graph": "chain"}) == "S: 5 (figure: 10)"
    assert compare_settings(official, {"S": 10}) == "graph: not stated (figure: chain)"
    assert compare_settings(None, {"S": 10}) == "figure's settings not recorded"
    with pytest.raises(ValueError, match="^figure"):
        Rerun("causal:99", lambda p: {})


def test_every_rerun_of_the_registry_is_compared_at_the_paper_profile():
    claims = all_claims()
    rows = figure_rows(claims, "paper")
    assert {r["figure"] for r in rows} == set(FIGURES)
    for r in rows:
        if r["relation"] == "reruns":
            c = claims[r["claim"]]
            figure = FIGURES[r["figure"]]
            actual = next(x for x in c.reruns if x.figure == r["figure"]).settings(c.resolve("paper"))
            for part in PARTS:  # "same" exactly when every official entry is matched
                official = figure.part(part)
                assert (r[part] == "same") == (official is not None and all(
                    actual[part].get(k, object()) == v for k, v in official.items())), (r["claim"], part)
    # Figure 9 and Figure 8 are rerun at their official settings in the paper profile
    for key, cid in (("causal:9", "causal.random_graphs_parent_attention"), ("causal:8", "causal.standard_transformer_chain")):
        row = next(r for r in rows if r["figure"] == key and r["claim"] == cid)
        assert [row[p] for p in PARTS] == ["same"] * 4, row
        quick = next(r for r in figure_rows(claims, "quick") if r["figure"] == key and r["claim"] == cid)
        assert quick["budget"] != "same" and quick["task"] == "same"


def test_no_reference_names_a_figure_its_claim_does_not_rerun_or_mark_as_theory():
    import re

    for c in all_claims().values():
        named = {f"{c.paper}:{n}" for n in re.findall(r"Figures? (\d+)", c.reference)}
        named |= {f"{c.paper}:{n}" for n in re.findall(r"Figures \d+ and (\d+)", c.reference)}
        declared = {r.figure for r in c.reruns} | set(c.theory_for)
        assert named <= declared, (c.id, named - declared)


def test_figures_command_writes_the_same_records_as_json(tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert main(["figures", "--json", str(out)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    data = json.loads(out.read_text())
    assert data["profile"] == "paper" and data["figures"] == figure_rows(all_claims(), "paper")
    assert "causal.random_graphs_parent_attention" in text and "theory for Figure 2" in text


def test_list_estimates_each_claim_and_the_total(capsys):
    assert main(["list", "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert "estimated total for the paper profile" in out
    c = all_claims()["causal.random_graphs_parent_attention"]
    # without a recorded time, the declared cost (sequences / measured throughput)
    seconds, source = estimate_seconds(c, "paper", recorded={})
    assert source == "throughput" and seconds > 3600  # 20 graphs x 2^14 steps of 1,024 on 2 cores: hours
    assert estimate_seconds(c, "quick", recorded={})[0] < seconds / 100
    # a recorded time of the same profile wins: it measured these very settings
    assert estimate_seconds(c, "paper", recorded={"paper": {c.id: 4693.1}}) == (4693.1, "recorded")
    assert format_seconds(None) == "?" and format_seconds(90) == "90 s" and format_seconds(7300) == "2.0 h"
    with pytest.raises(ValueError, match="^profile_name"):
        estimate_seconds(c, "huge")


def test_a_unit_claim_s_estimate_is_shared_among_its_units_by_their_declared_costs():
    c = all_claims()["causal.random_graphs_parent_attention"]  # 20 graphs of one declared cost each
    jobs = job_seconds(c, "full", recorded={"full": {c.id: 60.0}})
    assert len(jobs) == 20 and jobs == pytest.approx([3.0] * 20, rel=1e-12)
    assert job_seconds(all_claims()["ar.identity"], "full", recorded={"full": {"ar.identity": 0.5}}) == [0.5]
    assert job_seconds(all_claims()["ar.identity"], "full", recorded={}) is None
    # 20 equal units on 2 workers: 10 each; on 3: 7 for the busiest (ceil(20/3)); on 1: the serial time
    for workers, busiest in ((1, 20), (2, 10), (3, 7), (40, 1)):
        assert workers_estimate([c], "full", workers, {"full": {c.id: 60.0}}) == (pytest.approx(3.0 * busiest), 0)


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_the_workers_estimate_is_within_the_list_schedule_bounds(workers):
    """Graham's bounds for a list schedule: at least max(longest job, total / workers), at most
    total / workers + longest job; with one worker, exactly the serial total."""
    claims = list(all_claims().values())
    recorded = {"full": {c.id: 1.0 + (i % 7) for i, c in enumerate(claims)}}
    jobs = [s for c in claims for s in job_seconds(c, "full", recorded)]
    total, longest = sum(jobs), max(jobs)
    seconds, unknown = workers_estimate(claims, "full", workers, recorded)
    assert unknown == 0 and max(longest, total / workers) - 1e-9 <= seconds <= total / workers + longest + 1e-9
    if workers == 1:
        assert seconds == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize("workers", [0, -2, 1.5, True, "2"])
def test_the_workers_estimate_refuses_a_bad_worker_count_by_name(workers):
    with pytest.raises(ValueError, match="^workers"):
        workers_estimate([], "full", workers)


def test_list_and_run_print_the_estimate_on_several_workers(capsys):
    assert main(["list", "--profile", "full", "-j", "2"]) == 0
    assert "on 2 workers, longest jobs first" in capsys.readouterr().out
    assert main(["list", "--profile", "full"]) == 0
    assert "workers" not in capsys.readouterr().out.splitlines()[-1]


def test_a_claim_run_with_other_parameters_is_not_recorded_as_its_profile_s_time(tmp_path, capsys):
    run = tmp_path / "run.json"
    assert main(["run", "--quick", "--claim", "causal.pairwise_joint", "--claim", "ar.identity", "--json",
                 str(run)]) == 0
    data = json.loads(run.read_text())
    data["claims"][0]["parameters"] = {**data["claims"][0]["parameters"], "n": 99}  # as if run with --param n=99
    run.write_text(json.dumps(data))
    target = tmp_path / "claim_seconds.json"
    record_timings([str(run)], target)
    recorded = json.loads(target.read_text())["seconds"]["quick"]
    assert set(recorded) == {data["claims"][1]["id"]}
    assert f"not recorded: {data['claims'][0]['id']}" in capsys.readouterr().out


def test_run_accepts_the_profile_and_quick_as_its_synonym(tmp_path, capsys):
    for argv in (["--quick"], ["--profile", "quick"]):
        out = tmp_path / f"{len(argv)}.json"
        assert main(["run", *argv, "--claim", "ar.identity", "--json", str(out)]) == 0
        assert json.loads(out.read_text())["profile"] == "quick"
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["run", "--quick", "--profile", "full", "--claim", "ar.identity"])
    assert "not allowed with" in capsys.readouterr().err


def test_long_runs_print_progress_lines_in_the_paper_profile():
    import io

    from numerics.runtime import ProgressLines, progress_lines

    assert ProgressLines("x", 10, 4).stream is None  # silent by default: quick and full runs print nothing
    out = io.StringIO()
    with progress_lines(out, interval=0.0):
        lines = ProgressLines("disentangled transformer (sgd)", 10, 4)
        for step in range(1, 11):
            lines.update(step, 2.5 - 0.1 * step)
    text = out.getvalue().splitlines()
    assert len(text) == 10 and text[-1].startswith("disentangled transformer (sgd): step 10/10, 40 sequences, "
                                                   "loss 1.5000") and "min remaining" in text[-1]
    with progress_lines(io.StringIO(), interval=3600.0):
        quiet = ProgressLines("y", 5, 1)
        for step in range(1, 6):
            quiet.update(step, 1.0)
        assert len(quiet.stream.getvalue().splitlines()) == 1  # only the last step within the interval
