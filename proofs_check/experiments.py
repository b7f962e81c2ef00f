"""The papers' experimental figures, their official settings, and which claims rerun them.

A :class:`Figure` holds one figure's official settings as data, in four parts: the **task** (graph,
``S``, ``T``, ``α``, prior, roots), the **model**, the **optimiser and schedule**, and the **budget**
(steps and batch).  A claim that reruns a figure declares ``reruns=(Rerun("causal:9", settings),)``,
where ``settings(params)`` returns the settings the claim *actually runs* at the resolved parameters,
in the same four parts, from the same function the check builds its run from.  ``proofs-check
figures`` compares the two part by part at the paper profile: ``same``, or what differs
(``S: 5 (figure: 10)``).  A claim that only checks the theory behind a figure declares
``theory_for=("causal:2",)`` and is listed as ``theory for Figure 2``, never as a rerun.

Figure numbers are those of the authors' published code, which names each figure it draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

__all__ = ["Figure", "Rerun", "FIGURES", "PARTS", "causal_settings", "compare_settings", "figure_rows"]

PARTS = ("task", "model", "optimiser", "budget")


@dataclass(frozen=True)
class Figure:
    """One experimental figure of a paper and its official settings (each part a mapping)."""

    key: str  # "<paper>:<number>", e.g. "causal:9"
    title: str
    task: Mapping[str, Any] | None  # None: the toolkit has not recorded this part of the figure's settings
    model: Mapping[str, Any] | None
    optimiser: Mapping[str, Any] | None
    budget: Mapping[str, Any] | None

    @property
    def paper(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def number(self) -> str:
        return self.key.split(":", 1)[1]

    def part(self, name: str) -> Mapping[str, Any] | None:
        return getattr(self, name)


@dataclass(frozen=True)
class Rerun:
    """A claim's rerun of figure ``figure``: ``settings(params)`` gives what the claim runs, as
    ``{"task": {...}, "model": {...}, "optimiser": {...}, "budget": {...}}``."""

    figure: str
    settings: Callable[[Mapping[str, Any]], Mapping[str, Mapping[str, Any]]]
    note: str = ""

    def __post_init__(self) -> None:
        if self.figure not in FIGURES:
            raise ValueError(f"figure: expected one of {sorted(FIGURES)}, got {self.figure!r}")


_DISENTANGLED = {"name": "disentangled transformer", "embedding": "one-hot token ⊕ one-hot position",
                 "attention": "bilinear softmax, causal, diagonal included", "heads": (1, 1),
                 "layer outputs": "concatenated", "init": "zero"}
_CAUSAL_TASK = {"S": 10, "T": 20, "alpha": 0.1, "prior": "Dirichlet rows per sequence", "roots": "stationary",
                "query": "uniform", "target": "π(query, ·)", "loss": "cross-entropy"}
_SGD_COSINE = {"optimizer": "sgd", "lr": 1.0, "schedule": "cosine", "weight_decay": 0.0}
_PAPER_BUDGET = {"steps": 2 ** 17, "batch": 1024}

FIGURES: dict[str, Figure] = {f.key: f for f in (
    Figure("causal:2", "disentangled transformer on the in-context Markov chain: loss, layer-1 attention, "
                       "layer-2 induction head",
           {**_CAUSAL_TASK, "graph": "chain"}, _DISENTANGLED, _SGD_COSINE, _PAPER_BUDGET),
    Figure("causal:6", "disentangled transformer on in-context pairs, a random forest and a small DAG",
           {**_CAUSAL_TASK, "graph": "icl_pairs, random forest, small DAG (S=3, T=6)"}, _DISENTANGLED,
           _SGD_COSINE, _PAPER_BUDGET),
    Figure("causal:5", "multiple parents: the paper's graph with parents ((i-1)//2, i-1), two layer-1 heads",
           {"graph": "parents ((i-1)//2, i-1), target parents (15, 31)", "S": 5, "T": 32, "alpha": 0.1,
            "prior": "Dirichlet table per sequence", "roots": "Dirichlet vector per sequence",
            "target": "π(x_15, x_31, ·)", "loss": "cross-entropy"},
           {**_DISENTANGLED, "heads": (2, 1), "init": "N(0, 1e-8)"},
           {"optimizer": "adamw", "lr": 1e-2, "schedule": "cosine", "weight_decay": 1e-4},
           {"steps": 2 ** 16, "batch": 1024}),
    Figure("causal:8", "a standard transformer (added embeddings, MLPs, residual) learns the chain",
           {**_CAUSAL_TASK, "graph": "chain"},
           {"name": "standard transformer", "embedding": "learned token + position, added", "width": 30,
            "mlp": "ReLU, widths d, d, d, last layer zero", "heads": (1, 1), "layernorm": False},
           {"optimizer": "adamw", "lr": 1e-2, "schedule": "cosine", "weight_decay": 2e-4},
           {"steps": 2 ** 12, "batch": 1024}),
    Figure("causal:9", "20 random graphs (roots with probability 1/2): layer-1 position softmax on the parent",
           {**_CAUSAL_TASK, "S": 3, "graph": "random DAGs, root w.p. 1/2, else parent uniform on 0..i-1"},
           _DISENTANGLED, {"optimizer": "sgd", "lr": 1.0, "schedule": "constant", "weight_decay": 0.0},
           {"steps": 2 ** 14, "batch": 1024, "graphs": 20}),
)}
_HAAR_TASK = {"d": 5, "W": "Haar on O(d)", "s_0": "(1, ..., 1)/sqrt(d), fixed", "length": 51, "noise": 0.0,
              "train sequences": 16384, "test sequences": 1024, "loss": "MSE at all 50 positions"}
_ADAM_200_EPOCHS = {"optimizer": "adam", "lr": 1e-2, "schedule": "constant"}
FIGURES.update({f.key: f for f in (
    Figure("autoregressive:3", "population-loss training of the diagonal multi-head attention with positional "
                               "weights (left: commuting unitary contexts; right: commuting orthogonal contexts)",
           None, None, None, None),
    Figure("autoregressive:4", "AR(1) least-squares reconstruction error of windows of 5 GPT-2 token embeddings "
                               "(1,280 dimensions, normalised) against shuffled windows", None, None, None, None),
    Figure("autoregressive:5", "augmented tokens, W Haar on O(d): one layer of linear attention against one GD step",
           {**_HAAR_TASK, "tokens": "augmented (0, s_t, s_{t-1})"},
           {"name": "linear causal attention with biases, output map, LayerNorm, residual, readout 3d -> 3d",
            "heads": 1},
           _ADAM_200_EPOCHS, {"steps": 3200, "batch": 1024}),
    Figure("autoregressive:6", "positional encoding only, d = 1: gradient descent on the positional weights",
           {"d": 1, "nu": (50, 100, 200, 300)}, {"name": "positional weights only"},
           {"optimizer": "gd", "lr": 0.5, "stop": "loss 0.001"}, None),
    Figure("autoregressive:7", "raw tokens, W Haar on O(d): 64 heads with softmax positional attention",
           {**_HAAR_TASK, "tokens": "raw, repeated to width 2d"},
           {"name": "linear token score x softmax positional score, biases, output map, LayerNorm, readout 2d -> d",
            "heads": 64},
           _ADAM_200_EPOCHS, {"steps": 3200, "batch": 1024}),
)})
# Figure 7 of the causal paper draws the same run as Figure 5 (its heads, position by position).
FIGURES["causal:7"] = Figure("causal:7", "multiple parents: which head attends to which parent, by position",
                             FIGURES["causal:5"].task, FIGURES["causal:5"].model, FIGURES["causal:5"].optimiser,
                             FIGURES["causal:5"].budget)


def compare_settings(official: Mapping[str, Any] | None, actual: Mapping[str, Any]) -> str:
    """``same`` when every official entry is matched, else the entries that differ or are missing
    (``S: 5 (figure: 10)``); entries the figure does not fix are not compared, and a part whose
    official settings the toolkit has not recorded is said to be so (never ``same``)."""
    if official is None:
        return "figure's settings not recorded"
    diffs = []
    for name, value in official.items():
        if name not in actual:
            diffs.append(f"{name}: not stated (figure: {value})")
        elif actual[name] != value:
            diffs.append(f"{name}: {actual[name]} (figure: {value})")
    return "same" if not diffs else "; ".join(diffs)


def figure_rows(claims: Mapping[str, Any], profile_name: str = "paper") -> list[dict[str, Any]]:
    """One row per (figure, claim) pair: the claim's reruns compared part by part with the figure
    at ``profile_name``, and its ``theory_for`` entries; figures no claim names get one empty row."""
    rows = []
    for key, fig in sorted(FIGURES.items(), key=lambda kv: (kv[1].paper, int(kv[1].number))):
        named = False
        for c in claims.values():
            for rerun in c.reruns:
                if rerun.figure != key:
                    continue
                named = True
                actual = rerun.settings(c.resolve(profile_name))
                rows.append({"figure": key, "paper": fig.paper, "number": fig.number, "claim": c.id,
                             "relation": "reruns", "profile": profile_name,
                             **{part: compare_settings(fig.part(part), actual.get(part, {})) for part in PARTS},
                             "note": rerun.note})
            if key in c.theory_for:
                named = True
                rows.append({"figure": key, "paper": fig.paper, "number": fig.number, "claim": c.id,
                             "relation": f"theory for Figure {fig.number}", "profile": profile_name,
                             **{part: "" for part in PARTS}, "note": ""})
        if not named:
            rows.append({"figure": key, "paper": fig.paper, "number": fig.number, "claim": None,
                         "relation": "no claim", "profile": profile_name, **{part: "" for part in PARTS},
                         "note": ""})
    return rows


def causal_settings(*, graph: str, S: int, T: int, alpha: float, optimizer: str, lr: float, schedule: str,
                    steps: int, batch: int, weight_decay: float = 0.0, heads: tuple[int, ...] = (1, 1),
                    init: str = "zero", roots: str = "stationary", model: Mapping[str, Any] | None = None,
                    **extra_budget: Any) -> dict[str, dict[str, Any]]:
    """The four parts of a causal-paper run, in the vocabulary of :data:`FIGURES` (the disentangled
    transformer unless ``model`` says otherwise)."""
    task = {**_CAUSAL_TASK, "graph": graph, "S": S, "T": T, "alpha": alpha, "roots": roots}
    model = dict(model) if model is not None else {**_DISENTANGLED, "heads": tuple(heads), "init": init}
    return {"task": task, "model": model,
            "optimiser": {"optimizer": optimizer, "lr": lr, "schedule": schedule, "weight_decay": weight_decay},
            "budget": {"steps": steps, "batch": batch, **extra_budget}}
