"""The command line on a small fake registry: run --report, explain, replay, bad input, README table."""

from __future__ import annotations

import json

import pytest

from proofs_check import registry
from proofs_check.cli import main
from proofs_check.markdown import first_sentence
from proofs_check.readme_table import END, START, claims_table
from proofs_check.readme_table import main as readme_main
from proofs_check.registry import Outcome, Param, Profile
from proofs_check.report import PNG_MAGIC


def _plot(path: str) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["a", "b"], [1, 2])
    fig.savefig(path)


def _replay_sum(case: dict) -> Outcome:
    total = sum(case["xs"])
    return Outcome(measured=total, details={"sum": total, "len": len(case["xs"])})


def _replay_crash(case: dict) -> Outcome:
    raise KeyError("missing")


@pytest.fixture
def fake_claims(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "all_claims", lambda: dict(registry._REGISTRY))

    @registry.claim("fake.pass", paper="causal", kind="theorem", statement="The gap is small. It shrinks with n.",
                    hypotheses="pi [full support].", method="Exact enumeration, e.g. over all graphs. More.",
                    measured="gap", direction="<=", tolerance=1e-3, proof_idea="Data processing inequality.",
                    parameters={"n": Param(9, 19, "context length"), "nus": Param((1.0,), (1.0, 2.0), "angles")},
                    reference="Theorem 1", formulas=("theory.information.mutual_information",))
    def _pass(profile: Profile) -> Outcome:
        x = float(profile.rng("fake.pass").uniform(0, 1e-4))
        return Outcome(measured=x, details={"x": x, "n": profile.params["n"], "nus": profile.params["nus"]})

    @registry.claim("fake.fail", paper="causal", kind="theorem", statement="Always | fails.", hypotheses="none",
                    method="Monte Carlo.", measured="error", direction="<=", tolerance=0.1, quick=False,
                    conditions={"agrees": ("==", True)})
    def _fail(profile: Profile) -> Outcome:
        return Outcome(measured=0.5, conditions={"agrees": True})

    @registry.claim("fake.error", paper="autoregressive", kind="theorem", statement="Crashes.", hypotheses="none",
                    method="Autograd.", measured="x", direction="<=", tolerance=0.1, replay=_replay_crash)
    def _error(profile: Profile) -> Outcome:
        raise RuntimeError("boom")

    @registry.claim("fake.cex", paper="autoregressive", kind="boundary",
                    statement="Outside the hypotheses: sums stay below one FAILS.",
                    hypotheses="xs nonnegative.", method="Property search.", measured="largest sum found",
                    direction="<=", tolerance=1.0, replay=_replay_sum)
    def _cex(profile: Profile) -> Outcome:
        return Outcome(measured=1.25, counterexamples=[{"xs": [0.75, 0.5]}], figure=_plot)

    return registry.all_claims()


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("error:") and "\n" not in err, captured.err
    assert "Traceback" not in captured.out + captured.err
    return err


def test_run_report_then_replay(fake_claims, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["run", "--quick", "--seed", "4", "--report", str(out), "--json", str(tmp_path / "r.json")])
    assert code == 1  # one claim errors
    stdout = capsys.readouterr().out
    assert "report written to" in stdout
    report = json.loads((out / "report.json").read_text())
    assert report["seed"] == 4 and report["profile"] == "quick"
    assert [c["id"] for c in report["claims"]] == ["fake.pass", "fake.error", "fake.cex"]
    assert report["not_run"] == ["fake.fail"]
    assert report["command"] == f"proofs-check run --quick --seed 4 --report {out}"
    plain = json.loads((tmp_path / "r.json").read_text())
    assert [c["status"] for c in plain["claims"]] == ["pass", "error", "pass"]
    assert (out / "figures" / "fake.cex.png").read_bytes()[:8] == PNG_MAGIC
    assert "![Figure for fake.cex](figures/fake.cex.png)" in (out / "report.md").read_text()

    case_file = out / "counterexamples" / "fake.cex-1.json"
    assert json.loads(case_file.read_text())["case"] == {"xs": [0.75, 0.5]}
    assert main(["replay", str(case_file)]) == 0
    stdout = capsys.readouterr().out
    assert "replaying fake.cex" in stdout and "seed 4" in stdout
    assert "largest sum found = 1.25" in stdout and "still violates the claimed property" in stdout
    assert "reproduced" in stdout and json.loads(case_file.read_text())["verdict"] == "refuted"
    plain = json.loads((tmp_path / "r.json").read_text())["claims"]
    assert [(c["kind"], c["verdict"], c["expected"]) for c in plain] == [
        ("theorem", "holds", "holds"), ("theorem", "error", "holds"), ("boundary", "refuted", "refuted")]
    assert plain[0]["reference"] == {"paper": registry.PAPERS["causal"], "arxiv": "2402.14735",
                                     "where": "Theorem 1"}
    assert plain[0]["parameters"] == {"n": 9, "nus": [1.0]} and plain[0]["direction"] == "<="


def test_run_single_claim_full_profile(fake_claims, tmp_path, capsys):
    assert main(["run", "--claim", "fake.fail", "--report", str(tmp_path)]) == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["profile"] == "full" and [c["id"] for c in report["claims"]] == ["fake.fail"]
    assert main(["run", "--claim", "fake.pass"]) == 0


def test_claim_patterns_select_in_registry_order(fake_claims, tmp_path, capsys):
    main(["run", "--claim", "fake.[cp]*", "--claim", "fake.pass", "--json", str(tmp_path / "r.json")])
    report = json.loads((tmp_path / "r.json").read_text())
    assert [c["id"] for c in report["claims"]] == ["fake.pass", "fake.cex"]
    assert main(["run", "--claim", "zzz.*"]) == 2  # a pattern that matches nothing is an unknown id
    assert "zzz.*" in _one_line_error(capsys)


def test_same_seed_same_numbers(fake_claims, tmp_path, capsys):
    for name in ("a", "b"):
        main(["run", "--claim", "fake.pass", "--seed", "9", "--json", str(tmp_path / f"{name}.json")])
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("a", "b"))
    for record in a["claims"] + b["claims"]:
        record.pop("seconds")
    assert a == b and a["seed"] == 9


def test_explain(fake_claims, capsys):
    assert main(["explain", "fake.pass"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines at the terminal width
    for text in ("fake.pass", registry.PAPERS["causal"], "The gap is small. It shrinks with n.",
                 "Data processing inequality.", "pi [full support].", "Exact enumeration", "Holds when gap <= 0.001",
                 "Profiles quick+full+paper", "Replay hook no", "theorem (expected verdict: holds", "Theorem 1",
                 "n = 9 / 19 / 19 context length"):
        assert text in out, text


def test_list_still_works(fake_claims, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "fake.pass" in out and "fake.cex" in out


@pytest.mark.parametrize("argv", [
    ["run", "--claim", "no.such"],
    ["run", "--claim", "fake.pass", "--claim", "nope"],
    ["explain", "no.such"],
    ["run", "--seed", "x"],
    ["frobnicate"],
])
def test_bad_arguments(fake_claims, capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    _one_line_error(capsys)


def test_unwritable_report_folder(fake_claims, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["run", "--quick", "--report", str(blocker / "sub")]) == 2
    assert "cannot write the report folder" in _one_line_error(capsys)
    assert main(["run", "--quick", "--report", str(blocker)]) == 2
    assert "not a folder" in _one_line_error(capsys)


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "holds a JSON list"),
    ('{"claim": "fake.cex"}', "lacks 'case'"),
    ('{"claim": "fake.cex", "case": [1]}', "'case' must be a JSON object"),
    ('{"claim": "no.such", "case": {}}', "not registered"),
    ('{"claim": "fake.pass", "case": {}}', "has no replay hook"),
])
def test_bad_replay_files(fake_claims, tmp_path, capsys, content, message):
    path = tmp_path / "case.json"
    if content is not None:
        path.write_text(content)
    assert main(["replay", str(path)]) == 2
    assert message in _one_line_error(capsys)


def test_replay_hook_that_raises_is_a_bad_case(fake_claims, tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text('{"claim": "fake.error", "seed": 0, "case": {"xs": []}}')
    assert main(["replay", str(path)]) == 2
    assert "KeyError" in _one_line_error(capsys)


def test_replay_that_no_longer_reproduces_exits_1(fake_claims, tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text('{"claim": "fake.cex", "seed": 0, "verdict": "refuted", "case": {"xs": [0.25, 0.5]}}')
    assert main(["replay", str(path)]) == 1
    out = capsys.readouterr().out
    assert "the claimed property holds on this case" in out and "not reproduced" in out


def test_broken_claims_module_is_one_line(monkeypatch, capsys):
    def broken():
        raise ImportError("cannot import name 'foo' from 'theory'")

    monkeypatch.setattr(registry, "all_claims", broken)
    assert main(["list"]) == 2
    assert "cannot load the claims" in _one_line_error(capsys)


def test_readme_table(fake_claims, tmp_path, capsys):
    table = claims_table(fake_claims)
    rows = table.splitlines()
    assert rows[0] == "| id | paper | kind | statement | formula | holds when | reference | profile |"
    assert len(rows) == 2 + len(fake_claims)
    assert "| `fake.pass` | causal | theorem | The gap is small. | `mutual_information` | gap \\<= 0.001 " \
           "| Theorem 1 | quick+full+paper |" in rows
    assert any("Always \\| fails." in r and r.endswith("| full+paper |") for r in rows)

    assert readme_main([]) == 0
    assert capsys.readouterr().out.strip() == table

    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nIntro.\n\n{START}\nold table\n{END}\n\nMore.\n")
    assert readme_main(["--write", str(readme)]) == 0
    written = readme.read_text()
    assert written == f"# Title\n\nIntro.\n\n{START}\n\n{table}\n\n{END}\n\nMore.\n"
    assert readme_main(["--write", str(readme)]) == 0
    assert readme.read_text() == written  # idempotent

    readme.write_text("# No markers\n")
    capsys.readouterr()
    assert readme_main(["--write", str(readme)]) == 2
    assert "lacks the markers" in _one_line_error(capsys)
    assert readme_main(["--write", str(tmp_path / "missing.md")]) == 2
    assert "cannot read" in _one_line_error(capsys)


def test_first_sentence():
    assert first_sentence("One. Two.") == "One."
    assert first_sentence("Uses e.g. sums, i.e. totals. Then more.") == "Uses e.g. sums, i.e. totals."
    assert first_sentence("The value 0.5 is kept\n   across lines. Next") == "The value 0.5 is kept across lines."
    assert first_sentence("No full stop") == "No full stop"


def test_malformed_replay_file_in_a_real_process(tmp_path):
    """The installed entry point, not just main(): one line on stderr, status 2, no traceback."""
    import subprocess
    import sys

    path = tmp_path / "case.json"
    path.write_text("{oops")
    proc = subprocess.run([sys.executable, "-m", "proofs_check", "replay", str(path)],
                          capture_output=True, text=True, timeout=60,
                          cwd=__import__("pathlib").Path(__file__).resolve().parents[1])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error:") and "not valid JSON" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_readme_table_matches_the_registry():
    """The committed README carries the table generated from the real registry (regenerate with
    ``python -m proofs_check.readme_table --write README.md``)."""
    from pathlib import Path

    from proofs_check.readme_table import claims_table, replace_between_markers

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert replace_between_markers(readme, claims_table(registry.all_claims())) == readme


def test_finding_that_stops_being_refuted_fails_the_run(monkeypatch, tmp_path, capsys):
    """Strict xfail: a finding whose statement now holds is exit 1, with the reason in the table."""
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "all_claims", lambda: dict(registry._REGISTRY))

    @registry.claim("fake.finding", paper="autoregressive", kind="finding", statement="Trained equals constructed.",
                    hypotheses="fixed s_0", method="training", measured="prediction gap", direction="<=",
                    tolerance=0.1, parameters={"gap": Param(0.5, 0.5, "the gap this fake measures")})
    def _finding(profile: Profile) -> Outcome:
        return Outcome(measured=profile.params["gap"])

    assert main(["run", "--claim", "fake.finding"]) == 0
    capsys.readouterr()
    assert main(["run", "--claim", "fake.finding", "--param", "gap=0.05", "--json", str(tmp_path / "r.json")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "holds (expected refuted)" in out and "the refuted statement now holds" in out
    record = json.loads((tmp_path / "r.json").read_text())["claims"][0]
    assert (record["verdict"], record["expected"], record["status"]) == ("holds", "refuted", "fail")
    assert record["parameters"] == {"gap": 0.05}
    assert main(["list", "--kind", "finding"]) == 0
    assert "fake.finding" in capsys.readouterr().out


def test_param_overrides_are_typed(fake_claims, tmp_path, capsys):
    assert main(["run", "--claim", "fake.pass", "--param", "n=39", "--param", "nus=1,2.5",
                 "--json", str(tmp_path / "r.json")]) == 0
    record = json.loads((tmp_path / "r.json").read_text())["claims"][0]
    assert record["parameters"] == {"n": 39, "nus": [1.0, 2.5]} and record["details"]["n"] == 39


@pytest.mark.parametrize("argv, message", [
    (["run", "--claim", "fake.pass", "--param", "n=abc"], "param: n expects a finite int"),
    (["run", "--claim", "fake.pass", "--param", "m=3"], "param: 'm' is not a parameter"),
    (["run", "--claim", "fake.pass", "--param", "n"], "param: expected NAME=VALUE"),
    (["run", "--claim", "fake.pass", "--json", ""], "--json: expected a file path"),
    (["run", "--claim", "fake.pass", "--json", "/nonexistent-dir/x.json"], "--json: cannot write"),
    (["run", "--claim", "fake.pass", "--report", ""], "--report: expected a folder path"),
    (["run", "--seed", "-1"], "non-negative integer"),
])
def test_bad_run_arguments_are_refused_before_any_work(fake_claims, capsys, argv, message):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert message in _one_line_error(capsys)


def test_report_never_touches_files_it_did_not_write(fake_claims, tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main(["run", "--quick", "--report", str(foreign)]) == 2
    assert "not a previous proofs-check report" in _one_line_error(capsys)
    assert (foreign / "notes.txt").read_text() == "keep me"

    out = tmp_path / "report"
    main(["run", "--quick", "--report", str(out)])
    (out / "figures" / "mine.png").write_bytes(b"not ours")
    (out / "counterexamples" / "mine.json").write_text("{}")
    main(["run", "--claim", "fake.pass", "--report", str(out)])  # a rerun writes no figure or case
    assert (out / "figures" / "mine.png").read_bytes() == b"not ours"
    assert (out / "counterexamples" / "mine.json").read_text() == "{}"
    assert not (out / "figures" / "fake.cex.png").exists()  # the old report's own figure is gone
    files = json.loads((out / "report.json").read_text())["files"]
    assert files == ["report.json", "report.md"]


def test_findings_stand_out_in_the_report(fake_claims, tmp_path, capsys):
    out = tmp_path / "report"
    main(["run", "--quick", "--report", str(out)])
    text = (out / "report.md").read_text()
    section = text.split("## What this toolkit finds that the papers do not say")[1].split("## Summary")[0]
    assert "fake.cex" in section and "fake.pass" not in section and "largest sum found = 1.25" in section
    assert "◆ boundary" in text.split("## Summary")[1]
