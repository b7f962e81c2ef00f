"""Markdown and plain-text formatting shared by the report, the README table and the command line.

Prose is escaped outside code spans and ``$math$``; table cells are one line
with pipes escaped; numbers print to 4 significant digits.  Values that are
not plain JSON (NumPy scalars and arrays, tuples, paths) are turned into JSON
by :func:`jsonable`.
"""

from __future__ import annotations

import inspect
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["jsonable", "string_keys", "dumps", "clean_text", "md_text", "md_cell", "md_code",
           "md_code_cell", "slug", "fmt_number", "fmt_value", "flatten_details", "round_value", "plural",
           "fenced", "first_sentence"]

_ABBREVIATIONS = ("e.g.", "i.e.", "cf.", "vs.", "resp.", "Thm.", "Eq.", "Eqs.", "Prop.", "Lem.", "Sec.",
                  "Fig.", "Def.", "Cor.", "App.", "al.", "approx.")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(`$\"'])")


def jsonable(value: Any) -> Any:
    """``json.dump`` default: NumPy (and torch) scalars and arrays become Python numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) or hasattr(value, "tolist"):
        try:
            return value.tolist()
        except Exception:
            return repr(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def string_keys(value: Any) -> Any:
    """JSON objects need string keys; a details dict keyed by tuples (edges, say) gets them as text."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(jsonable(k) if not isinstance(k, (int, float, bool))
                                                  else k): string_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [string_keys(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(string_keys(value), indent=2, default=jsonable)


def clean_text(text: str) -> str:
    """A docstring-like text without its common indentation (indentation would make code blocks)."""
    return inspect.cleandoc(text or "")


_KEEP = re.compile(r"(`+[^`]*`+|\$\$.+?\$\$|\$[^$\n]+\$)", re.S)
_SPECIAL = re.compile(r"([\\*_\[\]<>|~])")


def md_text(text: str, in_table: bool = False) -> str:
    """Prose for Markdown: Markdown's special characters escaped outside code spans and $math$.

    In a table cell a pipe ends the cell even inside a code span, so there it
    is escaped everywhere.
    """
    parts = _KEEP.split(clean_text(text))
    kept = (lambda p: p.replace("|", "\\|")) if in_table else (lambda p: p)
    return "".join(kept(p) if i % 2 else _SPECIAL.sub(r"\\\1", p) for i, p in enumerate(parts))


def md_cell(text: str) -> str:
    """One table cell: a single line, pipes escaped."""
    one_line = " ".join(clean_text(str(text)).split())
    return md_text(one_line, in_table=True) if one_line else " "


def md_code(text: str, in_table: bool = False) -> str:
    """One line shown as inline code; in a table cell pipes must be escaped even inside backticks."""
    one_line = " ".join(str(text).split())
    if in_table:
        one_line = one_line.replace("|", "\\|")
    return f"`` {one_line} ``" if "`" in one_line else f"`{one_line}`"


def md_code_cell(text: str) -> str:
    return md_code(text, in_table=True)


def slug(heading: str) -> str:
    """The anchor a GitHub-style viewer gives a heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def fmt_number(x: Any) -> str:
    """Numbers at the report's printed precision (4 significant digits)."""
    if x is None:
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x) or math.isinf(x):
            return str(x)
        return f"{x:.4g}"
    return str(x)


def fmt_value(value: Any, limit: int = 160) -> str:
    """A details value, numbers at printed precision, long sequences cut."""
    if isinstance(value, (int, float, np.number, bool, np.bool_)) or value is None:
        return fmt_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    text = json.dumps(string_keys(round_value(value)), default=jsonable)
    if len(text) > limit:
        size = f" ({len(value)} items)" if hasattr(value, "__len__") else ""
        text = text[:limit] + f" …{size}"
    return text


def flatten_details(details: dict[str, Any], depth: int = 3, prefix: str = "") -> list[tuple[str, Any]]:
    """``(key, value)`` rows with nested dicts unfolded into ``outer · inner`` keys (``depth`` levels),
    so that every number of a nested record gets its own row in the Markdown table."""
    rows: list[tuple[str, Any]] = []
    for key, value in details.items():
        name = f"{prefix} · {key}" if prefix else str(key)
        if isinstance(value, dict) and value and depth > 1:
            rows.extend(flatten_details(value, depth - 1, name))
        else:
            rows.append((name, value))
    return rows


def round_value(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if not math.isfinite(x) else float(f"{x:.4g}")
    if isinstance(value, dict):
        return {k: round_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [round_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return round_value(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def fenced(text: str, lang: str = "") -> list[str]:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + lang, text, fence]


def first_sentence(text: str) -> str:
    """The first sentence of ``text``, on one line (abbreviations like "e.g." do not end it)."""
    one_line = " ".join(clean_text(text or "").split())
    start = 0
    for m in _SENTENCE_END.finditer(one_line):
        before = one_line[start:m.start()]
        if before.endswith(_ABBREVIATIONS):
            continue
        return one_line[:m.start()]
    return one_line
