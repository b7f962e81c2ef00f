"""The large-scale shape of the code: layering, one public owner per formula, module sizes, `where`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from proofs_check.registry import all_claims
from proofs_check.where import canonical_name, resolve

ROOT = Path(__file__).resolve().parents[1]
LAYERS = sorted(p for layer in ("theory", "model", "numerics") for p in (ROOT / layer).glob("*.py"))
LIBRARY = LAYERS + sorted((ROOT / "proofs_check").rglob("*.py"))
MAX_LINES = 450
# what proofs_check reaches into on purpose, in a third-party package: hypothesis's local-constant pool, emptied
# for the duration of a search so that its cases depend on the seed alone (proofs_check/search.py)
THIRD_PARTY_PRIVATE = {"proofs_check/search.py": {"._get_local_constants"}}


def _one_concern_table() -> dict[str, str]:
    """The modules ARCHITECTURE.md names as one concern (allowed above MAX_LINES), with the reason it gives."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    section = text.partition("## Modules above 450 lines")[2].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([\w/]+\.py)` \| (.+?) \|$", section, re.M)
    return dict(rows)


# modules allowed above MAX_LINES because they are one cohesive concern: read from ARCHITECTURE.md
ONE_CONCERN = _one_concern_table()


def _private_crossings(path: Path) -> list[str]:
    """Names starting with one underscore that ``path`` imports from, or reads on, another module or object."""
    tree = ast.parse(path.read_text())
    modules = set()
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    hits.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            hits.append(f"line {node.lineno}: .{node.attr}")
    return hits


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", LIBRARY, ids=_name)
def test_no_private_name_crosses_a_file_boundary(path):
    allowed = THIRD_PARTY_PRIVATE.get(_name(path), set())
    assert not [hit for hit in _private_crossings(path) if hit.split(": ", 1)[1] not in allowed]


@pytest.mark.parametrize("path", LAYERS, ids=_name)
def test_theory_never_imports_torch_and_nothing_imports_proofs_check(path):
    text = path.read_text()
    tree = ast.parse(text)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "proofs_check" not in imported
    if path.parent.name == "theory":
        assert "torch" not in imported
    if path.parent.name == "model":
        assert not imported & {"numerics", "proofs_check"}


@pytest.mark.parametrize("path", LIBRARY, ids=_name)
def test_library_modules_stay_small_or_cohesive(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES or _name(path) in ONE_CONCERN, (
        f"{lines} lines: re-cut it by concern, or name it in ARCHITECTURE.md's 'Modules above 450 lines' with "
        f"the reason it is one concern")


def test_the_one_concern_list_names_only_modules_above_the_limit():
    assert ONE_CONCERN, "ARCHITECTURE.md's table 'Modules above 450 lines' was not found"
    for name, reason in ONE_CONCERN.items():
        path = ROOT / name
        assert path in LIBRARY, f"{name}: not a library module"
        lines = len(path.read_text().splitlines())
        assert lines > MAX_LINES, f"{name} has {lines} lines now: take it out of ARCHITECTURE.md's list"
        assert reason.strip(), f"{name}: ARCHITECTURE.md gives no reason"


def test_training_module_is_a_thin_re_export():
    tree = ast.parse((ROOT / "numerics" / "training.py").read_text())
    assert not [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


CLAIMS = all_claims()


@pytest.mark.parametrize("claim_id", sorted(CLAIMS))
def test_every_claim_lists_formulas_that_import(claim_id):
    formulas = CLAIMS[claim_id].formulas
    assert formulas, "a claim names the formulas it checks"
    for dotted in formulas:
        assert canonical_name(resolve(dotted)).split(".")[0] in ("theory", "numerics", "model"), dotted


def test_where_names_the_owner_and_the_claims(capsys):
    from proofs_check.cli import main

    assert main(["where", "attention_gradient_at_init"]) == 0
    out = capsys.readouterr().out
    assert "theory/gradients.py" in out
    assert "causal.initial_gradient_autograd" in out and "causal.initial_gradient_dirichlet" in out
    assert "tests/test_causal_theory.py::" in out
    assert main(["where", "no_such_formula"]) == 2


def _public_definitions(tree: ast.Module) -> list[str]:
    """The names a module defines at top level (functions, classes, assigned constants) without a leading ``_``."""
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in names if not n.startswith("_")]


@pytest.mark.parametrize("path", [p for p in LIBRARY if p.name != "__main__.py"], ids=_name)
def test_every_library_module_declares_its_public_names(path):
    """``__all__`` in every module that defines something: every public definition listed, and every listed
    name defined or imported there (a re-export)."""
    tree = ast.parse(path.read_text())
    public = _public_definitions(tree)
    declared = [node for node in tree.body if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)]
    if not public:
        return
    assert declared, "no __all__"
    listed = ast.literal_eval(declared[0].value)
    assert set(public) - {"__all__"} <= set(listed), sorted(set(public) - set(listed))
    imported = {a.asname or a.name.split(".")[0] for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names}
    assert set(listed) <= set(public) | imported, sorted(set(listed) - set(public) - imported)
