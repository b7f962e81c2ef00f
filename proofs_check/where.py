"""Where a formula is implemented and where it is checked: ``proofs-check where NAME``.

A formula is named by its dotted path (``theory.gradients.attention_gradient_at_init``)
or by its bare name (``attention_gradient_at_init``), looked up in the public
modules of ``theory``, ``numerics`` and ``model``.  Its implementation is the
function or class the name resolves to (re-exports followed to the defining
file); it is *checked by* every claim that lists it in ``@claim(formulas=...)``
and *tested by* every test function in the project's ``tests/`` folder whose
body uses the name.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofs_check.registry import Claim

__all__ = ["LAYERS", "ROOT", "WhereError", "Location", "resolve", "canonical_name", "find", "tests_using",
           "locate"]

LAYERS = ("theory", "numerics", "model")
ROOT = Path(__file__).resolve().parents[1]


class WhereError(Exception):
    """The name cannot be resolved; the message is one line for the user."""


@dataclass
class Location:
    name: str                # the dotted name it resolves to, in its defining module
    file: str                # path relative to the project root when inside it
    line: int
    claims: list[Claim] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)   # "tests/test_x.py::test_name"


def resolve(dotted: str) -> Any:
    """The object a dotted name such as ``theory.gradients.attention_gradient_at_init`` names."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                raise WhereError(f"name: {dotted!r} does not resolve ({'.'.join(parts[:cut])} has no {attr!r})")
            obj = getattr(obj, attr)
        return obj
    raise WhereError(f"name: {dotted!r} does not resolve to a module attribute")


def _public_modules() -> list[str]:
    names = []
    for layer in LAYERS:
        package = importlib.import_module(layer)
        names.append(layer)
        names += [f"{layer}.{m.name}" for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")]
    return names


def canonical_name(obj: Any) -> str:
    """``module.qualname`` of the defining module (a re-export points at its owner)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname:
        raise WhereError(f"name: {obj!r} is not a function or class")
    return f"{module}.{qualname}"


def find(name: str) -> list[str]:
    """Canonical dotted names matching ``name`` (dotted, or bare: searched in the public modules)."""
    if "." in name and name.split(".")[0] in LAYERS:
        return [canonical_name(resolve(name))]
    if not name.isidentifier():
        raise WhereError(f"name: expected a Python name or a dotted path, got {name!r}")
    found = []
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        obj = getattr(module, name, None)
        if obj is not None and (inspect.isfunction(obj) or inspect.isclass(obj)):
            found.append(canonical_name(obj))
    found = sorted(set(found))
    if not found:
        raise WhereError(f"name: no public function or class {name!r} in {', '.join(LAYERS)}")
    return found


def _relative(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if ROOT in p.parents else str(p)


def tests_using(bare: str, tests_dir: Path | None = None) -> list[str]:
    """``file::test`` for every test function whose body names ``bare`` (as a name or an attribute)."""
    folder = tests_dir or ROOT / "tests"
    out = []
    for path in sorted(folder.glob("test_*.py")) if folder.is_dir() else []:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                used = any((isinstance(n, ast.Name) and n.id == bare) or (isinstance(n, ast.Attribute) and n.attr == bare)
                           for n in ast.walk(node))
                if used:
                    out.append(f"{_relative(str(path))}::{node.name}")
    return out


def locate(name: str, claims: dict[str, Claim]) -> list[Location]:
    """Every implementation ``name`` may mean, with the claims and tests that check it."""
    out = []
    for dotted in find(name):
        obj = resolve(dotted)
        target = inspect.unwrap(obj)
        try:
            file, line = inspect.getsourcefile(target), inspect.getsourcelines(target)[1]
        except (TypeError, OSError):
            file, line = "?", 0
        checking = [c for c in claims.values() if any(canonical_name(resolve(f)) == dotted for f in c.formulas)]
        out.append(Location(dotted, _relative(file or "?"), line, checking, tests_using(dotted.rsplit(".", 1)[-1])))
    return out
