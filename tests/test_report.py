"""The report writer, on a small fake registry (independent of the real claims)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from proofs_check import registry
from proofs_check.registry import Outcome, Profile
from proofs_check.markdown import md_cell, md_text, slug
from proofs_check.report import PNG_MAGIC, ReportError, deterministic_view, prepare_report_dir, write_report
from proofs_check.registry import all_claims
from proofs_check.runner import run_claim, run_claims, select


def _plot(path: str) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 1, 4])
    fig.savefig(path)


def _broken_plot(path: str) -> None:
    raise ValueError("no data to draw")


def _replay_sum(case: dict) -> Outcome:
    total = sum(case["xs"])
    return Outcome(measured=total, details={"sum": total})


@pytest.fixture
def fake_claims(monkeypatch):
    """A registry of five claims: pass, fail (broken figure), error, counterexample+figure+replay, full-only."""
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "all_claims", lambda: dict(registry._REGISTRY))

    @registry.claim("fake.pass", paper="causal", statement="""
            The gap is small | always, for s_{t+1} = W s_t.

            A second paragraph.""",
                    hypotheses="pi has full support.", method="Exact enumeration.", tolerance=1e-3,
                    kind="theorem", measured="gap", direction="<=", reference="Lemma 2",
                    proof_idea="Data processing inequality.")
    def _pass(profile: Profile) -> Outcome:
        rng = profile.rng("fake.pass")
        x = float(rng.uniform(0, 1e-4))
        return Outcome(measured=x,
                       details={"rate": float(rng.uniform()), "grid": np.arange(3), "n": np.int64(7),
                                "by_edge": {(0, 1): np.float64(0.25)}})

    @registry.claim("fake.fail", paper="causal", statement="Always fails.", hypotheses="none",
                    method="Monte Carlo.", tolerance=0.1, kind="theorem", measured="error", direction="<=")
    def _fail(profile: Profile) -> Outcome:
        return Outcome(measured=0.5, details={"note": "a|b"}, figure=_broken_plot)

    @registry.claim("fake.error", paper="autoregressive", statement="Crashes.", hypotheses="none",
                    method="Autograd.", tolerance=0.1, kind="theorem", measured="x", direction="<=")
    def _error(profile: Profile) -> Outcome:
        raise RuntimeError("boom [/odd] markup")

    @registry.claim("fake.cex", paper="autoregressive", statement="Sums stay below one.",
                    hypotheses="xs nonnegative, at most 2 entries.", method="Property search with hypothesis.",
                    tolerance=1.0, replay=_replay_sum, kind="boundary", measured="largest sum", direction="<=")
    def _cex(profile: Profile) -> Outcome:
        xs = [round(float(v), 6) for v in profile.rng("fake.cex").uniform(0.6, 0.9, size=2)]
        return Outcome(measured=2.0, counterexamples=[{"xs": xs}, {"xs": [2.0]}], figure=_plot)

    @registry.claim("fake.full", paper="causal", statement="Slow.", hypotheses="none", method="Big.",
                    tolerance=1.0, quick=False, kind="theorem", measured="x", direction="<=")
    def _full(profile: Profile) -> Outcome:
        return Outcome(measured=0.0)

    return registry.all_claims()


def _run(claims, directory, seed=0, name="quick"):
    profile = Profile(name, seed=seed)
    selected = select(claims, profile)
    results = run_claims(selected, profile)
    not_run = [c for c in claims.values() if c not in selected]
    report = write_report(results, profile, directory, command="proofs-check run --quick", not_run=not_run)
    return results, report


def test_report_files_and_json(fake_claims, tmp_path):
    results, report = _run(fake_claims, tmp_path / "out", seed=5)
    out = tmp_path / "out"
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == json.loads(json.dumps(report))
    assert on_disk["seed"] == 5 and on_disk["profile"] == "quick"
    assert on_disk["summary"] == {"pass": 2, "fail": 1, "error": 1}
    assert on_disk["not_run"] == ["fake.full"]
    env = on_disk["environment"]
    assert env["seed"] == 5 and env["profile"] == "quick" and env["cpu_count"] >= 1
    assert env["python"] and env["packages"]["numpy"] == np.__version__
    by_id = {c["id"]: c for c in on_disk["claims"]}
    assert [c["status"] for c in on_disk["claims"]] == ["pass", "fail", "error", "pass"]
    assert by_id["fake.pass"]["details"]["grid"] == [0, 1, 2]
    assert by_id["fake.pass"]["details"]["by_edge"] == {"[0, 1]": 0.25}
    assert by_id["fake.pass"]["statement"].startswith("The gap is small")
    assert "boom" in by_id["fake.error"]["error"]
    assert by_id["fake.fail"]["figure"] is None and "no data to draw" in by_id["fake.fail"]["figure_error"]
    assert by_id["fake.cex"]["figure"] == "figures/fake.cex.png"
    assert by_id["fake.cex"]["counterexample_files"] == ["counterexamples/fake.cex-1.json",
                                                         "counterexamples/fake.cex-2.json"]
    assert (out / "figures" / "fake.cex.png").read_bytes()[:8] == PNG_MAGIC
    case = json.loads((out / "counterexamples" / "fake.cex-2.json").read_text())
    assert case == {"claim": "fake.cex", "seed": 5, "profile": "quick", "verdict": "refuted", "case": {"xs": [2.0]}}
    assert on_disk["verdicts"] == {"holds": 1, "refuted": 2, "inconclusive": 0, "error": 1}
    assert by_id["fake.cex"]["kind"] == "boundary" and by_id["fake.cex"]["expected"] == "refuted"
    assert by_id["fake.fail"]["explanation"] == "error = 0.5, required <= 0.1"
    assert sorted(on_disk["files"]) == on_disk["files"] and "figures/fake.cex.png" in on_disk["files"]


def test_report_markdown(fake_claims, tmp_path):
    _run(fake_claims, tmp_path)
    md = (tmp_path / "report.md").read_text()
    titles = [line for line in md.splitlines() if line.startswith("## ")]
    assert titles == ["## What this toolkit finds that the papers do not say", "## Summary",
                      f"## {registry.PAPERS['causal']}", f"## {registry.PAPERS['autoregressive']}", "## Environment"]
    # Claims sit under their paper, in run order.
    assert md.index("### fake.pass") < md.index("### fake.fail") < md.index(registry.PAPERS["autoregressive"])
    assert md.index(registry.PAPERS["autoregressive"]) < md.index("### fake.error") < md.index("### fake.cex")
    assert "| [fake.pass](#fakepass) | theorem | holds | gap = " in md
    assert "| [fake.fail](#fakefail) | theorem | refuted (expected holds) | error = 0.5, \\<= 0.1 required |" in md
    assert "**Verdict: refuted** (expected holds: **FAIL**)" in md and "**Verdict: error** (ERROR)" in md
    assert "**Why.** error = 0.5, required \\<= 0.1" in md
    assert "The gap is small \\| always, for s\\_{t+1} = W s\\_t." in md
    assert "A second paragraph." in md and "Data processing inequality." in md
    assert "![Figure for fake.cex](figures/fake.cex.png)" in md
    assert "Not drawn: ValueError: no data to draw" in md
    assert "RuntimeError: boom [/odd] markup" in md
    assert "[counterexamples/fake.cex-1.json](counterexamples/fake.cex-1.json)" in md
    assert "proofs-check replay" in md
    assert "Not run in this profile: `fake.full`" in md
    assert "proofs-check run --quick" in md
    # Every table row has as many cells as its header: no stray pipes.
    table_width = None
    for line in md.splitlines():
        if not line.startswith("|"):
            table_width = None
            continue
        cells = len(re.findall(r"(?<!\\)\|", line)) - 1
        table_width = table_width or cells
        assert cells == table_width, line
    # Outside fenced blocks no line is indented enough to turn prose into a code block.
    outside_fences = re.sub(r"```text\n.*?\n```", "", md, flags=re.S)
    assert "RuntimeError" not in outside_fences.split("**Error.**")[1].split("###")[0]
    assert not any(line.startswith("    ") for line in outside_fences.splitlines())


def test_same_seed_same_report(fake_claims, tmp_path):
    _, first = _run(fake_claims, tmp_path / "a", seed=11)
    _, second = _run(fake_claims, tmp_path / "b", seed=11)
    _, other = _run(fake_claims, tmp_path / "c", seed=12)
    assert deterministic_view(first) == deterministic_view(second)
    assert deterministic_view(first) != deterministic_view(other)

    def without_timing(md: str) -> str:
        md = re.sub(r"\d+\.\d+ s\b", "", md)
        md = re.sub(r"\| [\d.]+ \|\n", "|\n", md)
        return md.split("## Environment")[0]

    a, b = ((tmp_path / n / "report.md").read_text().replace(str(tmp_path / n), "DIR") for n in "ab")
    assert without_timing(a) == without_timing(b)


def test_full_profile_covers_every_claim(fake_claims, tmp_path):
    _, report = _run(fake_claims, tmp_path, name="full")
    assert {c["id"] for c in report["claims"]} == set(fake_claims)
    assert report["not_run"] == []


def test_stale_artifacts_of_our_own_are_removed_and_nothing_else(fake_claims, tmp_path):
    (tmp_path / "counterexamples").mkdir()
    (tmp_path / "counterexamples" / "old-1.json").write_text("{}")
    with pytest.raises(ReportError, match="not a previous proofs-check report"):
        _run(fake_claims, tmp_path)
    assert (tmp_path / "counterexamples" / "old-1.json").read_text() == "{}"

    out = tmp_path / "report"
    _run(fake_claims, out)
    previous = json.loads((out / "report.json").read_text())
    previous["files"].append("counterexamples/old-1.json")  # an older report of ours wrote it
    (out / "report.json").write_text(json.dumps(previous))
    (out / "counterexamples" / "old-1.json").write_text("{}")
    (out / "counterexamples" / "yours.json").write_text("{}")
    _run(fake_claims, out)
    assert sorted(p.name for p in (out / "counterexamples").iterdir()) == ["fake.cex-1.json", "fake.cex-2.json",
                                                                           "yours.json"]


def test_unwritable_report_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportError, match="not a folder"):
        prepare_report_dir(blocker)
    with pytest.raises(ReportError, match="cannot write the report folder"):
        prepare_report_dir(blocker / "sub")


def test_markdown_escaping():
    assert md_cell("a | b\n  c") == "a \\| b c"
    assert md_cell("`x|y`") == "`x\\|y`"
    assert md_text("keep `a_b*c` and $x_i$ but escape a*b") == "keep `a_b*c` and $x_i$ but escape a\\*b"
    assert md_text("<T> [1]") == "\\<T\\> \\[1\\]"
    assert slug("fake.cex") == "fakecex"
    assert slug("How do Transformers perform X? (Sander et al., 2024)") == \
        "how-do-transformers-perform-x-sander-et-al-2024"


def test_markdown_renders(fake_claims, tmp_path):
    """Rendered by a CommonMark parser with tables (markdown-it, which rich ships with)."""
    from markdown_it import MarkdownIt

    _run(fake_claims, tmp_path)
    html = MarkdownIt("commonmark").enable("table").render((tmp_path / "report.md").read_text())
    summary = html.split("<h2>Summary</h2>")[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", summary, re.S)
    assert len(rows) == 1 + 4 and all(len(re.findall(r"<t[dh][ >]", row)) == 6 for row in rows)
    assert '<a href="#fakepass">fake.pass</a>' in summary
    assert "The gap is small | always, for s_{t+1} = W s_t." in html
    assert "<code>a|b</code>" in html
    assert '<img src="figures/fake.cex.png" alt="Figure for fake.cex" />' in html
    assert "\\" not in re.sub(r"<pre>.*?</pre>", "", html, flags=re.S)


@pytest.mark.parametrize("claim_id", ["causal.train_argmax_parent", "causal.edge_ranking_uniform_roots_boundary",
                                      "causal.initial_gradient_dirichlet"])
def test_real_claims_are_deterministic(claim_id):
    """Same seed and profile: the same verdict, number and details (training, property search, Monte Carlo)."""
    claim = all_claims()[claim_id]

    def untimed(value):  # wall-clock entries ("seconds") are the only legitimate difference
        if isinstance(value, dict):
            return {k: untimed(v) for k, v in value.items() if "seconds" not in str(k)}
        if isinstance(value, (list, tuple)):
            return [untimed(v) for v in value]
        return value

    first, second = (run_claim(claim, Profile("quick", seed=3)) for _ in range(2))
    assert first.status == second.status and first.status in ("pass", "fail")
    assert first.measured == second.measured  # exact by construction: same seed, same operations, one process
    assert repr(untimed(first.as_json())) == repr(untimed(second.as_json()))


def test_nested_details_get_one_row_per_number():
    from proofs_check.markdown import flatten_details

    rows = flatten_details({"a": 1, "b": {"c": 2.5, "d": {"e": [1, 2], "f": {"g": 4}}}, "h": {}})
    assert rows == [("a", 1), ("b · c", 2.5), ("b · d · e", [1, 2]), ("b · d · f", {"g": 4}), ("h", {})]


def test_non_commuting_paragraph_reads_the_official_attention_off_the_run(tmp_path):
    """The findings section's paragraph on W Haar names each Haar claim's measured value and the official
    model's GD-block shares, as the run's details give them."""
    profile = Profile("quick", seed=0)
    result = run_claim(all_claims()["ar.haar_official_figure5"], profile)
    write_report([result], profile, str(tmp_path / "rep"))
    text = (tmp_path / "rep" / "report.md").read_text()
    d = result.outcome.details
    assert "### Non-commuting contexts" in text
    assert (f"puts {d['gd_share_KtQ_official']:.0%} of W_KᵀW_Q's energy and {d['gd_share_V_official']:.0%} of its "
            f"value-to-prediction map") in text
