"""The papers claims may name, and where claims modules come from beyond ``proofs_check.claims``.

A new paper is registered with :func:`register_paper` in its claims module, before its first claim.  Claims
modules are loaded from the entry-point group :data:`ENTRY_POINT_GROUP` of installed packages
(:func:`load_entry_points`) and from the environment variable :data:`PLUGINS_VARIABLE` that
``proofs-check -p MODULE`` sets (:func:`plugin_modules`, :func:`load_plugins`).  The names are re-exported by
:mod:`proofs_check.registry`, where a plugin finds them beside :func:`~proofs_check.registry.claim`.
"""

from __future__ import annotations

import importlib
import os
from typing import Iterable

__all__ = ["ARXIV", "ENTRY_POINT_GROUP", "PAPERS", "PLUGINS_VARIABLE", "load_entry_points", "load_plugins",
           "plugin_modules", "register_paper"]

PAPERS = {
    "causal": "How Transformers Learn Causal Structure with Gradient Descent (Nichani, Damian, Lee, 2024)",
    "autoregressive": "How do Transformers perform In-Context Autoregressive Learning? (Sander et al., 2024)",
}
ARXIV = {"causal": "2402.14735", "autoregressive": "2402.05787"}
#: the entry-point group an installed package declares its claims modules in (``pyproject.toml``:
#: ``[project.entry-points."proofs_check.claims"] mypaper = "mypackage.claims"``)
ENTRY_POINT_GROUP = "proofs_check.claims"
#: the environment variable of claims modules to import (comma-separated), set by ``proofs-check -p``
PLUGINS_VARIABLE = "PROOFS_CHECK_PLUGINS"


def register_paper(key: str, title: str, *, arxiv: str = "") -> None:
    """Register a paper under ``key`` (a lowercase identifier such as ``"mypaper"``), with its full
    ``title`` and arXiv number, so that claims may name it (``@claim(..., paper=key)``).  Registering
    the same key again with the same title is a no-op (a module imported twice); another title is refused."""
    if not isinstance(key, str) or not key.isidentifier() or key != key.lower():
        raise ValueError(f"key: expected a lowercase identifier such as 'mypaper', got {key!r}")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"title: expected the paper's title, a non-empty string, got {title!r}")
    if not isinstance(arxiv, str):
        raise ValueError(f"arxiv: expected the arXiv number as a string such as '2402.14735', got {arxiv!r}")
    if key in PAPERS and PAPERS[key] != title.strip():
        raise ValueError(f"key: paper {key!r} is already registered as {PAPERS[key]!r}")
    PAPERS[key], ARXIV[key] = title.strip(), arxiv


def plugin_modules() -> list[str]:
    """The claims modules named by :data:`PLUGINS_VARIABLE`, in order."""
    return [m.strip() for m in os.environ.get(PLUGINS_VARIABLE, "").split(",") if m.strip()]


def load_plugins(modules: Iterable[str]) -> None:
    """Import each claims module of ``modules`` (dotted names on ``sys.path``), registering its claims."""
    for name in modules:
        if not isinstance(name, str) or not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"plugin: expected a dotted module name such as 'mypackage.claims', got {name!r}")
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                raise ValueError(f"plugin: no module named {name!r} on the path (sys.path: the current folder, "
                                 f"PYTHONPATH and the installed packages)") from None
            raise


def load_entry_points() -> None:
    """Import every claims module an installed package names in the entry-point group :data:`ENTRY_POINT_GROUP`;
    ``ValueError`` naming the entry point when one fails to load."""
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            point.load()
        except Exception as exc:
            raise ValueError(f"plugin: the entry point {point.name} = {point.value!r} of group "
                             f"{ENTRY_POINT_GROUP!r} failed to load: {type(exc).__name__}: {exc}") from exc
