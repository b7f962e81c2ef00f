"""Claims for a third paper without editing the package: the README's extension example, loaded with
``proofs-check -p MODULE`` (serial and ``-j 2``), seen by the report and the pytest plugin, and the same
module installed as a package declaring the ``proofs_check.claims`` entry point."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from proofs_check import registry

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "proofs_check"]


def readme_example() -> str:
    """The Python block of the README's section 'Adding a claim for a new paper'."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Adding a claim for a new paper"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != registry.PLUGINS_VARIABLE}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def plugin_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("third-paper")
    (folder / "mypaper_claims.py").write_text(readme_example())
    return folder


def test_the_readme_example_runs_through_p_with_its_report(plugin_folder):
    out = subprocess.run([*CLI, "run", "--quick", "-p", "mypaper_claims", "--claim", "mypaper.*", "--report",
                          "report", "--json", "run.json"], cwd=plugin_folder, env=_env(), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    [record] = json.loads((plugin_folder / "run.json").read_text())["claims"]
    assert record["id"] == "mypaper.geometric_sum" and record["verdict"] == "holds"
    assert 0 <= record["measured"] < 1e-12 and record["reference"]["arxiv"] == "0000.00000"
    report = (plugin_folder / "report" / "report.md").read_text()
    assert "mypaper.geometric_sum" in report and "Geometric Series in Closed Form" in report


def test_local_workers_load_the_plugin_too(plugin_folder):
    out = subprocess.run([*CLI, "run", "--quick", "-j", "2", "-p", "mypaper_claims", "--claim", "mypaper.*",
                          "--claim", "ar.identity", "--json", "j2.json"], cwd=plugin_folder, env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    verdicts = {c["id"]: c["verdict"] for c in json.loads((plugin_folder / "j2.json").read_text())["claims"]}
    assert verdicts == {"mypaper.geometric_sum": "holds", "ar.identity": "holds"}


def test_a_missing_plugin_is_one_line_naming_it(tmp_path):
    out = subprocess.run([*CLI, "list", "-p", "no_such_claims_module"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "no_such_claims_module" in out.stderr and "Traceback" not in out.stderr


def test_the_pytest_plugin_runs_the_plugin_claims_in_a_fresh_folder(plugin_folder, tmp_path):
    env = _env(PYTHONPATH=str(plugin_folder), **{registry.PLUGINS_VARIABLE: "mypaper_claims"})
    out = subprocess.run([sys.executable, "-m", "pytest", "--proofs-check=quick", "proofs-check::mypaper.*", "-q",
                          "-p", "no:cacheprovider"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"\b1 passed\b", out.stdout), out.stdout


def test_an_installed_entry_point_is_found_without_p(plugin_folder, tmp_path):
    package = tmp_path / "package"
    package.mkdir()
    (package / "mypaper_claims.py").write_text(readme_example())
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "mypaper-claims"\nversion = "0.1"\n\n'
        '[tool.setuptools]\npy-modules = ["mypaper_claims"]\n\n'
        '[project.entry-points."proofs_check.claims"]\nmypaper = "mypaper_claims"\n')
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--target", str(site), str(package)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert list(site.glob("mypaper_claims-0.1.dist-info/entry_points.txt"))
    work = tmp_path / "elsewhere"
    work.mkdir()
    out = subprocess.run([*CLI, "run", "--quick", "--claim", "mypaper.*", "--json", "run.json"], cwd=work,
                         env=_env(PYTHONPATH=str(site)), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    [record] = json.loads((work / "run.json").read_text())["claims"]
    assert record["id"] == "mypaper.geometric_sum" and record["verdict"] == "holds"


def test_register_paper_refuses_bad_keys_and_a_second_title():
    registry.register_paper("pluginpapertest", "A Title")
    registry.register_paper("pluginpapertest", "A Title")  # the same module imported twice: a no-op
    for kwargs, name in (({"key": "Not-An-Id", "title": "t"}, "key"), ({"key": "ok", "title": " "}, "title"),
                         ({"key": "ok", "title": "t", "arxiv": 2402}, "arxiv"),
                         ({"key": "pluginpapertest", "title": "Another"}, "key")):
        with pytest.raises(ValueError, match=f"^{name}"):
            registry.register_paper(**kwargs)
    with pytest.raises(ValueError, match="^plugin"):
        registry.load_plugins(["not a module"])
