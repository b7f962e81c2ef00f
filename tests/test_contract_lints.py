"""The claim contract, read from the code: no rule of a verdict left in a check body (issue 19, section 2).

Each lint reads the source of every registered claim (its check, or its units and reduce, its replay hook,
every function of its module these call, and the functions of other claims modules they reach, where units
and runs may be kept) and returns ``(line, what is wrong)``; a test fails with the
claim's id, the file and line, and the offending line.  Every lint is fed a small bad claim below and must
flag it.  ``ALLOWED`` lists the legitimate exceptions, each with its reason.

- ``undeclared_sizes``: sizes, counts, seed offsets and hyperparameters are declared ``Param`` s: no branch on
  ``profile.quick``, no ``profile.params.get(name, default)``, no literal count of 1000 or more, no literal
  value of a size keyword (``steps=``, ``draws=``, ``lr=`` ...);
- ``unseeded_generators``: every generator derives from ``profile.rng``/``unit_rng``: no ``default_rng``,
  ``RandomState``, global seeding, and no literal seed or literal seed offset;
- ``literal_tolerance_tests``: no condition, premise or measured value computed by comparing with a literal
  tolerance (``abs(e - 1/t) < 1e-12``): declare the number and its bound instead;
- ``search_tolerances``: a property search gets its tolerance from the claim, never a literal;
- ``z_levels``: a z bound is ``verdicts.Z_LIMIT`` or ``verdicts.z_level(z, reason=...)``; no literal 1.96;
- ``reported_statement_parts``: the statement holds only what is measured, a condition or a premise: no part
  of it is "reported" (details are not judged).
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from proofs_check.registry import all_claims

Finding = tuple[int, str]

SIZE_KEYWORDS = {"steps", "steps1", "steps2", "samples", "size", "draws", "batch", "batch_size", "batches",
                 "restarts", "examples", "max_examples", "epochs", "iterations", "test_size", "n_samples", "tail"}
SMALLEST_KEYWORD_SIZE = 100  # below: a structural choice of the setting (a prior of 2 matrices), not a work size
GENERATOR_FACTORIES = {"default_rng", "RandomState", "SeedSequence", "Random"}
GLOBAL_SEEDING = {"seed", "manual_seed"}
LARGEST_LITERAL_COUNT = 999
Z_NAME = re.compile(r"(^|_)z($|_)|z_score")
Z_MEASURED = re.compile(r"\|z\||z-score|stderr|standard error")
Z_95_LITERALS = (1.96, 1.959963984540054)


# ------------------------------------------------------------------ helpers
def _body(fn: ast.AST) -> ast.AST:
    """A function without its decorators (the ``@claim`` declaration is read by its own lints)."""
    if isinstance(fn, ast.FunctionDef):
        return ast.Module(body=fn.body, type_ignores=[])
    return fn


def _numbers(node: ast.AST, *, skip_powers: bool = True) -> list[ast.Constant]:
    """Numeric literals in ``node`` (not booleans), without the operands of ``**`` (``2**31``)."""
    out = []

    def visit(n: ast.AST) -> None:
        if skip_powers and isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow):
            return
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool):
            out.append(n)
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(node)
    return out


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _module_floats(tree: ast.AST) -> dict[str, float]:
    """Module-level ``NAME = <float literal>`` constants: a named literal tolerance is still a literal."""
    out = {}
    for node in getattr(tree, "body", []):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, float)):
            out.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return out


# ------------------------------------------------------------------ the lints on a function body
def undeclared_sizes(fn: ast.AST) -> list[Finding]:
    fn, found = _body(fn), []
    for node in ast.walk(fn):
        if isinstance(node, ast.Attribute) and node.attr == "quick" and isinstance(node.value, ast.Name) \
                and node.value.id == "profile":
            found.append((node.lineno, "branch on profile.quick: declare a Param with its quick and full values"))
        elif isinstance(node, ast.Call) and _call_name(node) == "get" and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "params":
            found.append((node.lineno, "profile.params.get(name, default): a parameter with a hidden default"))
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in SIZE_KEYWORDS and isinstance(kw.value, ast.Constant) \
                        and isinstance(kw.value.value, int) and kw.value.value >= SMALLEST_KEYWORD_SIZE:
                    found.append((kw.value.lineno, f"literal {kw.arg}={kw.value.value!r}: declare it as a Param"))
    for const in _numbers(fn):
        if isinstance(const.value, int) and const.value > LARGEST_LITERAL_COUNT:
            found.append((const.lineno, f"literal count {const.value}: declare it as a Param"))
    return sorted(set(found))


def unseeded_generators(fn: ast.AST) -> list[Finding]:
    fn, found = _body(fn), []
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in GENERATOR_FACTORIES:
            found.append((node.lineno, f"{name}(...): derive the generator from profile.rng(...)"))
        elif name in GLOBAL_SEEDING and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in ("torch", "random", "np"):
            found.append((node.lineno, f"global {ast.unparse(node.func)}(...): derive from profile.rng(...)"))
        seeds = [kw.value for kw in node.keywords if kw.arg in ("seed", "seed_value")]
        if name == "manual_seed":
            seeds += node.args[:1]
        for seed in seeds:
            literal = isinstance(seed, ast.Constant) or (
                isinstance(seed, ast.BinOp) and any(isinstance(x, ast.Constant) for x in (seed.left, seed.right)))
            if literal:
                found.append((seed.lineno, f"seed {ast.unparse(seed)}: a literal seed or seed offset "
                                           f"(derive from profile.rng, or declare the offset as a Param)"))
    return sorted(set(found))


def _tolerance_compares(node: ast.AST, floats: dict[str, float]) -> list[ast.Compare]:
    """Comparisons with a nonzero float literal (or a module float constant) on either side, and
    ``isclose``/``allclose`` with a literal ``atol``/``rtol``."""
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.Compare):
            operands = [n.left, *n.comparators]
            literal = any(isinstance(c.value, float) and c.value != 0.0 for o in operands for c in _numbers(o))
            named = any(isinstance(x, ast.Name) and x.id in floats for o in operands for x in ast.walk(o))
            if literal or named:
                out.append(n)
        elif isinstance(n, ast.Call) and _call_name(n) in ("isclose", "allclose") \
                and any(kw.arg in ("atol", "rtol") for kw in n.keywords):
            out.append(n)
    return out


def literal_tolerance_tests(fns: list[ast.AST], floats: dict[str, float] | None = None) -> list[Finding]:
    """A light data flow over ``fns`` (one claim's functions): names assigned from a tolerance comparison, and
    functions returning one, are tainted; a finding where a tainted value reaches an ``Outcome``'s measured
    value, conditions or premises (reported at the comparison's line)."""
    floats = floats or {}
    origin: dict[str, int] = {}  # tainted name -> line of the comparison behind it

    def source_line(expr: ast.AST) -> int | None:
        compares = _tolerance_compares(expr, floats)
        if compares:
            return compares[0].lineno
        for n in ast.walk(expr):
            if isinstance(n, ast.Name) and n.id in origin:
                return origin[n.id]
            if isinstance(n, ast.Call) and _call_name(n) in origin:
                return origin[_call_name(n)]
        return None

    for _ in range(4):  # to a fixed point through the few assignments of a check
        for fn in fns:
            for node in ast.walk(_body(fn)):
                if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                    line = source_line(node.value)
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        for t in ast.walk(target):
                            if isinstance(t, ast.Name) and line is not None:
                                origin.setdefault(t.id, line)
                elif isinstance(node, ast.Return) and node.value is not None and isinstance(fn, ast.FunctionDef):
                    line = source_line(node.value)
                    if line is not None and not _is_outcome(node.value):
                        origin.setdefault(fn.name, line)
    found = []
    for fn in fns:
        for node in ast.walk(_body(fn)):
            if isinstance(node, ast.Call) and _is_outcome(node):
                judged = node.args[:1] + [kw.value for kw in node.keywords
                                          if kw.arg in ("measured", "conditions", "premises")]
                for expr in judged:
                    line = source_line(expr)
                    if line is not None:
                        found.append((line, "a judged value computed by comparing with a literal tolerance: "
                                            "declare the number and its bound as a condition"))
    return sorted(set(found))


def _is_outcome(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _call_name(node) == "Outcome"


def search_tolerances(fn: ast.AST) -> list[Finding]:
    fn, found = _body(fn), []
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and _call_name(node) == "search":
            tol = node.args[2] if len(node.args) > 2 else next(
                (kw.value for kw in node.keywords if kw.arg == "tolerance"), None)
            if tol is not None and _numbers(tol):
                found.append((tol.lineno, f"search tolerance {ast.unparse(tol)}: take the claim's tolerance"))
    return found


def z_literals(fn: ast.AST) -> list[Finding]:
    return [(c.lineno, f"literal z {c.value}: use verdicts.Z_95 or verdicts.Z_LIMIT")
            for c in _numbers(_body(fn)) if isinstance(c.value, float) and any(abs(c.value - z) < 1e-9 for z in Z_95_LITERALS)]


# ------------------------------------------------------------------ the lints on the @claim(...) call
def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _declared_z(bound: ast.AST) -> bool:
    if isinstance(bound, (ast.Name, ast.Attribute)):
        return (bound.id if isinstance(bound, ast.Name) else bound.attr) == "Z_LIMIT"
    return isinstance(bound, ast.Call) and _call_name(bound) == "z_level" and _keyword(bound, "reason") is not None


def z_levels(decorator: ast.Call) -> list[Finding]:
    found = []
    for role in ("conditions", "premises"):
        tests = _keyword(decorator, role)
        if isinstance(tests, ast.Dict):
            for key, value in zip(tests.keys, tests.values):
                if isinstance(key, ast.Constant) and Z_NAME.search(str(key.value)) and isinstance(value, ast.Tuple) \
                        and not _declared_z(value.elts[1]):
                    found.append((value.lineno, f"z bound of {key.value!r}: verdicts.Z_LIMIT, or "
                                                f"verdicts.z_level(z, reason=...)"))
    measured, tolerance = _keyword(decorator, "measured"), _keyword(decorator, "tolerance")
    if isinstance(measured, ast.Constant) and Z_MEASURED.search(str(measured.value)) and tolerance is not None \
            and not _declared_z(tolerance):
        found.append((tolerance.lineno, "a z-score's tolerance: verdicts.Z_LIMIT, or verdicts.z_level(z, reason=...)"))
    return found


def reported_statement_parts(decorator: ast.Call) -> list[Finding]:
    statement = _keyword(decorator, "statement")
    text = ast.literal_eval(statement) if statement is not None else ""
    match = re.search(r"[^.;]*\breport\w*[^.;]*", text)
    if match:
        return [(statement.lineno, f"statement part only reported, not judged: {match.group(0).strip()!r}")]
    return []


BODY_LINTS = {"undeclared_sizes": undeclared_sizes, "unseeded_generators": unseeded_generators,
              "search_tolerances": search_tolerances, "z_literals": z_literals}
DECORATOR_LINTS = {"z_levels": z_levels, "reported_statement_parts": reported_statement_parts}

# (lint, claim id, text of the offending line, stripped) -> why it is legitimate
ALLOWED: dict[tuple[str, str, str], str] = {
    ("undeclared_sizes", "causal.edge_ranking_diagonal_key_boundary",
     "if _states(source) ** (graph.n + 1) * (len(source.weights) if isinstance(source, FinitePrior) else 1) <= 4096:"):
        "a memory guard on the S^T sequences the cross-entropy enumerates, not a size of the work",
    ("unseeded_generators", "ar.real_orthogonal_minimum", "rng = np.random.default_rng(seed)"):
        "the replay hook re-measures a saved case without a profile: the case's seed makes it repeatable",
}
# (lint, claim id) -> why: a declaration in a file another session edits now, to be converted there
ALLOWED_DECLARATIONS: dict[tuple[str, str], str] = {
}


# ------------------------------------------------------------------ reading a registered claim
@dataclass
class ClaimSource:
    id: str
    path: Path
    lines: list[str]
    module: ast.Module
    decorator: ast.Call
    functions: list[ast.FunctionDef]


def _entry_points(claim) -> list:
    fns = [claim.reduce or claim.check, claim.replay]
    if claim.units is not None:
        fns += [claim.units.split, claim.units.measure, claim.units.cost]
    return [inspect.unwrap(f) for f in fns if inspect.isfunction(f)]


CLAIMS_FOLDER = Path(inspect.getsourcefile(all_claims)).parent / "claims"


def _reach(path: Path, names: set[str]) -> tuple[ast.Module, list[str], list[ast.FunctionDef], dict[Path, set[str]]]:
    """The functions of the claims module at ``path`` that ``names`` reach (calls within the module), and the
    functions of other claims modules they call (by file: a claim's units may live beside it)."""
    import importlib

    text = path.read_text()
    module = ast.parse(text)
    top = {n.name: n for n in module.body if isinstance(n, ast.FunctionDef)}
    namespace = vars(importlib.import_module(f"proofs_check.claims.{path.stem}"))
    functions, todo, elsewhere = [], [top[n] for n in names if n in top], {}
    while todo:
        fn = todo.pop()
        if fn in functions:
            continue
        functions.append(fn)
        for node in ast.walk(fn):
            if not isinstance(node, ast.Name):
                continue
            if node.id in top:
                todo.append(top[node.id])
                continue
            other = namespace.get(node.id)
            if inspect.isfunction(other) and Path(inspect.getsourcefile(other)).parent == CLAIMS_FOLDER:
                elsewhere.setdefault(Path(inspect.getsourcefile(other)), set()).add(other.__name__)
    return module, text.splitlines(), functions, elsewhere


def claim_sources(claim) -> list[ClaimSource]:
    """The claim's own module (its declaration and what its entry points reach), then every other claims
    module its code reaches (units and runs kept beside the declaring file), each read like the first."""
    check = inspect.unwrap(claim.reduce or claim.check)
    path = Path(inspect.getsourcefile(check))
    roots: dict[Path, set[str]] = {path: set()}
    for f in _entry_points(claim):
        roots.setdefault(Path(inspect.getsourcefile(f)), set()).add(f.__name__)
    module, lines, functions, elsewhere = _reach(path, roots[path])
    top = {n.name: n for n in module.body if isinstance(n, ast.FunctionDef)}
    decorator = next(d for d in top[check.__name__].decorator_list
                     if isinstance(d, ast.Call) and _call_name(d) == "claim")
    for node in ast.walk(decorator):  # helpers called from the decorator (replay lambdas)
        if isinstance(node, ast.Name) and node.id in top and top[node.id] not in functions:
            functions.append(top[node.id])
    sources = [ClaimSource(claim.id, path, lines, module, decorator, functions)]
    for other, names in elsewhere.items():
        roots.setdefault(other, set()).update(names)
    done = {path}
    while set(roots) - done:
        other = sorted(set(roots) - done)[0]
        done.add(other)
        module, lines, functions, elsewhere = _reach(other, roots[other])
        sources.append(ClaimSource(claim.id, other, lines, module, decorator, functions))
        for more, names in elsewhere.items():
            if more not in done:
                roots.setdefault(more, set()).update(names)
    return sources


#: each claim's own module first (``SOURCES``), then the other claims modules its code reaches (``PARTS``)
_ALL_SOURCES = {cid: claim_sources(c) for cid, c in sorted(all_claims().items())}
SOURCES = {cid: sources[0] for cid, sources in _ALL_SOURCES.items()}
PARTS = [src for sources in _ALL_SOURCES.values() for src in sources]


def _report(lint: str, src: ClaimSource, findings: list[Finding]) -> list[str]:
    out = []
    for line, why in findings:
        text = src.lines[line - 1].strip()
        if (lint, src.id, text) not in ALLOWED:
            out.append(f"{src.id}: {src.path.name}:{line}: {why}\n    {text}")
    return out


@pytest.mark.parametrize("lint", sorted(BODY_LINTS))
def test_check_bodies_keep_no_rule(lint):
    problems = [p for src in PARTS
                for fn in src.functions for p in _report(lint, src, BODY_LINTS[lint](fn))]
    assert not problems, "\n".join(sorted(set(problems)))


def test_no_judged_value_is_a_boolean_with_a_literal_tolerance():
    problems = [p for src in PARTS
                for p in _report("literal_tolerance_tests", src,
                                 literal_tolerance_tests(src.functions, _module_floats(src.module)))]
    assert not problems, "\n".join(sorted(set(problems)))


@pytest.mark.parametrize("lint", sorted(DECORATOR_LINTS))
def test_claim_declarations(lint):
    problems = [p for src in SOURCES.values() if (lint, src.id) not in ALLOWED_DECLARATIONS
                for p in _report(lint, src, DECORATOR_LINTS[lint](src.decorator))]
    assert not problems, "\n".join(problems)


def test_a_search_in_a_check_uses_its_claims_tolerance():
    problems = []
    for src in SOURCES.values():
        declared = ast.unparse(_keyword(src.decorator, "tolerance"))
        check = src.functions[0]
        for node in ast.walk(check):
            if isinstance(node, ast.Call) and _call_name(node) == "search" and len(node.args) > 2:
                if ast.unparse(node.args[2]) != declared:
                    problems += _report("search_tolerances", src, [
                        (node.lineno, f"search tolerance {ast.unparse(node.args[2])} is not the claim's {declared}")])
    assert not problems, "\n".join(problems)


def test_every_allowed_exception_is_still_needed():
    """An allow-list entry whose line no longer exists (or is no longer flagged) is removed."""
    live = {(lint, src.id, src.lines[line - 1].strip())
            for src in PARTS
            for lint, found in [*((name, [f for fn in src.functions for f in lint_fn(fn)])
                                  for name, lint_fn in BODY_LINTS.items()),
                                ("literal_tolerance_tests",
                                 literal_tolerance_tests(src.functions, _module_floats(src.module)))]
            for line, _ in found}
    assert set(ALLOWED) <= live, sorted(set(ALLOWED) - live)


def test_the_lints_read_the_units_a_claim_keeps_in_another_module():
    """``causal.train_argmax_parent`` declares its units in training_units.py: they are read with the claim."""
    parts = {src.path.name: {f.name for f in src.functions} for src in _ALL_SOURCES["causal.train_argmax_parent"]}
    assert {"argmax_parent_units", "argmax_parent_run", "argmax_parent_graphs"} <= parts["training_units.py"]
    assert "check_argmax_parent" in parts["training.py"]


# ------------------------------------------------------------------ each lint catches its pattern
BAD_CLAIM = textwrap.dedent('''
    @claim("bad.claim", paper="x", kind="theorem", measured="max |z| of the estimates", direction="<=",
           tolerance=4.0, conditions={"eta_is_inverse": ("==", True), "mean_z": ("<=", 4.5)},
           premises={"mc_z_score": ("<=", 3)},
           statement="The loss is quadratic; its minima are reported.")
    def check_bad(profile):
        steps = 100 if profile.quick else 1000
        extra = profile.params.get("extra", 3)
        rng = np.random.default_rng(1)
        gen = torch.Generator().manual_seed(profile.seed + 7)
        torch.manual_seed(0)
        run = train(steps=300, lr=0.1, seed=0)
        result = search(strategy, violation, 1e-10, max_examples=10, seed_value=profile.seed)
        ok = abs(eta - 1 / t) < 1e-12
        upper = slope + 1.96 * se
        conditions = {"eta_is_inverse": ok, "mean_z": z}
        return Outcome(result.worst, conditions=conditions)
''')
GOOD_CLAIM = textwrap.dedent('''
    @claim("good.claim", paper="x", kind="theorem", measured="max |z| of the estimates", direction="<=",
           tolerance=Z_LIMIT, conditions={"eta_error": ("<=", TOL), "mean_z": ("<=", z_level(4.0, reason="..."))},
           statement="The loss is quadratic.")
    def check_good(profile):
        rng = profile.rng("good.claim")
        run = train(steps=profile.params["steps"], seed=int(rng.integers(2**31)))
        result = search(strategy, violation, TOL, max_examples=profile.params["examples"], seed_value=profile.seed)
        eta_error = abs(eta - 1 / t)
        inside = eta_error < 1e-3  # a detail, not judged
        return Outcome(result.worst, conditions={"eta_error": eta_error, "mean_z": z}, details={"inside": inside})
''')


def _parsed(source: str) -> tuple[ast.FunctionDef, ast.Call]:
    fn = ast.parse(source).body[0]
    return fn, fn.decorator_list[0]


def _flagged_lines(findings: list[Finding], source: str) -> set[str]:
    lines = source.splitlines()
    return {lines[line - 1].strip().split(" ")[0] for line, _ in findings}


@pytest.mark.parametrize("lint, expected", [
    (undeclared_sizes, {"steps", "extra", "run"}),
    (unseeded_generators, {"rng", "gen", "torch.manual_seed(0)", "run"}),
    (search_tolerances, {"result"}),
    (z_literals, {"upper"}),
])
def test_each_body_lint_flags_its_pattern(lint, expected):
    bad, _ = _parsed(BAD_CLAIM)
    good, _ = _parsed(GOOD_CLAIM)
    assert _flagged_lines(lint(bad), BAD_CLAIM) == expected
    assert lint(good) == []


def test_the_literal_tolerance_lint_follows_a_boolean_into_the_conditions():
    bad, _ = _parsed(BAD_CLAIM)
    good, _ = _parsed(GOOD_CLAIM)
    assert _flagged_lines(literal_tolerance_tests([bad]), BAD_CLAIM) == {"ok"}
    assert literal_tolerance_tests([good]) == []
    # through a helper's return value and a named module constant
    helper = ast.parse(textwrap.dedent('''
        BELOW = 1e-6
        def count_below(L, bound):
            return int(L < bound - BELOW)
        def check(profile):
            return Outcome(0.0, conditions={"below": count_below(L, bound)})
    '''))
    assert [line for line, _ in literal_tolerance_tests(helper.body[1:], _module_floats(helper))] == [4]


def test_each_declaration_lint_flags_its_pattern():
    _, bad = _parsed(BAD_CLAIM)
    _, good = _parsed(GOOD_CLAIM)
    assert {line for line, _ in z_levels(bad)} == {3, 4}  # tolerance=4.0, mean_z 4.5 and mc_z_score 3
    assert len(z_levels(bad)) == 3
    assert len(reported_statement_parts(bad)) == 1
    assert z_levels(good) == [] and reported_statement_parts(good) == []
