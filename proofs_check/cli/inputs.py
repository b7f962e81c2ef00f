"""The command line's input, checked before any claim runs: bad input is a :class:`UsageError`, printed as one
line with exit status :data:`BAD_INPUT`.  The claims loaded (with ``-p`` plugins), output paths writable, the
toolkit's packages not shadowed by a user's file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from proofs_check import registry
from proofs_check.registry import Claim

__all__ = ["BAD_INPUT", "UsageError", "load_claims", "LAYERS", "check_packages", "check_writable",
           "use_plugins", "run_device"]

BAD_INPUT = 2


class UsageError(Exception):
    """Bad input; the message is printed as one line and the exit status is 2."""


def load_claims() -> dict[str, Claim]:
    """The registry, with a claims module that fails to import turned into a one-line error."""
    try:
        return registry.all_claims()
    except Exception as exc:
        where = getattr(exc, "__traceback__", None)
        module = ""
        while where is not None:
            name = where.tb_frame.f_globals.get("__name__", "")
            if name.startswith("proofs_check.claims."):
                module = name
            where = where.tb_next
        raise UsageError(f"cannot load the claims{' (' + module + ')' if module else ''}: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


LAYERS = ("theory", "model", "numerics")


def check_packages() -> None:
    """Refuse to start when a file of the user's shadows a package of the toolkit (a ``model.py`` in the
    working folder, say): every claim would import the wrong module."""
    import importlib.util

    home = Path(__file__).resolve().parents[2]
    for name in LAYERS:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as exc:
            raise UsageError(f"cannot import the toolkit's package {name!r}: {exc}") from None
        if spec is None:
            raise UsageError(f"the toolkit's package {name!r} is not installed: pip install -e .")
        origin = Path(spec.origin).resolve() if spec.origin else None
        if spec.submodule_search_locations is None or origin is None or origin.parent != home / name:
            raise UsageError(f"{origin or spec.name} shadows the toolkit's package {name!r} ({home / name}): "
                             f"rename it or run proofs-check from another folder")


def check_writable(path: str, option: str) -> None:
    """Refuse an empty or unwritable output path before any claim runs."""
    if not path.strip():
        raise UsageError(f"{option}: expected a file path, got an empty string")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{option}: {path!r} is a folder, expected a file path")
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"{option}: cannot write {path!r}: folder {folder!r} is missing or not writable")


def use_plugins(modules: list[str]) -> None:
    """Load the claims modules of ``-p`` and name them in :data:`registry.PLUGINS_VARIABLE`, so that worker
    processes (``-j``) load them too."""
    if not modules:
        return
    if os.getcwd() not in sys.path:  # a module in the current folder, as `python -m` would find it
        sys.path.insert(0, os.getcwd())
    known = registry.plugin_modules()
    os.environ[registry.PLUGINS_VARIABLE] = ",".join(known + [m for m in modules if m not in known])
    try:
        registry.load_plugins(modules)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def run_device(device: str, profile: str) -> str:
    """``--device``: ``auto`` is ``cuda`` for the paper profile when torch sees a GPU, else ``cpu``;
    ``cuda`` without a GPU is bad input (before any claim runs)."""
    import torch

    if device == "auto":
        return "cuda" if profile == "paper" and torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: CUDA is not available in this torch build or machine (use --device cpu)")
    return device
