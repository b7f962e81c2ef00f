"""numerics.training_config: the fast trainer's settings, checked once where they enter, and the same run
whichever form (a config object or keyword settings) they come in; the two-stage trainer's config beside it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.evaluation import cross_entropy_of, gap_to_count_estimator, held_out_loss_and_gap, held_out_sample
from numerics.population import SequenceLoss, per_sequence_loss
from numerics.sampling_torch import BatchStream, sample_sequences_torch
from numerics.train_disentangled import train_disentangled_fast
from numerics.train_reduced import ReducedTrainingConfig, train_reduced
from numerics.training_config import SCHEDULES, FastTrainingConfig, TrainingSchedule
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior

GRAPH, PRIOR = CausalGraph.chain(4), DirichletPrior(3, 0.1)
TINY = dict(steps=6, batch=8, test_size=32, threads=1, prefetch=False, eval_steps=(2, 5), seed=3)


def _same_run(a, b) -> None:
    assert [{k: v for k, v in e.items() if k != "seconds"} for e in a.history] == \
           [{k: v for k, v in e.items() if k != "seconds"} for e in b.history]
    assert a.train_loss == b.train_loss and a.settings == b.settings and a.estimator_loss == b.estimator_loss
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)


def test_config_and_keyword_settings_give_the_same_run_bit_for_bit():
    by_keywords = train_disentangled_fast(GRAPH, PRIOR, schedule="quick", lr=0.05, **TINY)
    config = FastTrainingConfig(TrainingSchedule("adam", 0.05, "constant", 6, 8), test_size=32, threads=1,
                                prefetch=False, eval_steps=(2, 5), seed=3)
    assert FastTrainingConfig.of("quick", lr=0.05, **{k: v for k, v in TINY.items() if k not in ("steps", "batch")},
                                 steps=6, batch=8) == config
    _same_run(by_keywords, train_disentangled_fast(GRAPH, PRIOR, config))
    _same_run(by_keywords, train_disentangled_fast(GRAPH, PRIOR, config=config))


def test_config_and_settings_at_once_are_refused():
    with pytest.raises(ValueError, match="^config: give a FastTrainingConfig or keyword settings, not both"):
        train_disentangled_fast(GRAPH, PRIOR, FastTrainingConfig(), seed=1)
    with pytest.raises(ValueError, match="^config: expected a FastTrainingConfig"):
        train_disentangled_fast(GRAPH, PRIOR, {"seed": 1})
    with pytest.raises(ValueError, match="^config: give a ReducedTrainingConfig or keyword settings, not both"):
        train_reduced(GRAPH, PRIOR, ReducedTrainingConfig(), seed=1)
    with pytest.raises(ValueError, match="^config: expected a ReducedTrainingConfig"):
        train_reduced(GRAPH, PRIOR, FastTrainingConfig())


@pytest.mark.parametrize("field, value", [("heads", (1,)), ("precision", "float16"), ("threads", 0),
                                          ("roots", "bogus"), ("alpha", -1.0), ("init_noise", float("nan")),
                                          ("test_size", 1), ("eval_steps", (7,)), ("seed", -1), ("progress", 1),
                                          ("schedule", "bogus"), ("schedule", TrainingSchedule("adamw", 1.0, "constant", 6, 8))])
def test_a_bad_field_is_refused_by_name(field, value):
    with pytest.raises(ValueError, match=f"^{field}:"):
        FastTrainingConfig(**{"schedule": TrainingSchedule("sgd", 1.0, "constant", 6, 8), field: value})


@pytest.mark.parametrize("field, value", [("steps", 0), ("batch", 1.5), ("lr", float("inf"))])
def test_schedule_overrides_are_checked_by_name(field, value):
    with pytest.raises(ValueError, match=f"^{field}:"):
        FastTrainingConfig.of("quick", **{field: value})


def test_config_normalises_what_it_checks():
    config = FastTrainingConfig(SCHEDULES["quick"], heads=[2, 1], eval_steps=np.array([3, 1]), threads=2)
    assert config.heads == (2, 1) and config.eval_steps == (3, 1) and config.init_noise == 1e-2
    assert config.eval_marks() == {1, 3, SCHEDULES["quick"].steps}
    assert FastTrainingConfig(TrainingSchedule("sgd", 1, "constant", 10, 2)).eval_marks() == {1, 2, 4, 8, 10}
    assert TrainingSchedule("sgd", 1, "constant", np.int64(10), 2).lr == 1.0


@pytest.mark.parametrize("field, value", [("source", "adam"), ("beta", 0.0), ("steps2", -1), ("smoothing", 1.0),
                                          ("snapshot_steps", [-1]), ("test_size", 1), ("alpha", float("nan")),
                                          ("stop_at_recovery", "yes")])
def test_a_bad_reduced_field_is_refused_by_name(field, value):
    with pytest.raises(ValueError, match=f"^{field}:"):
        ReducedTrainingConfig(**{field: value})


@pytest.mark.parametrize("source", ["sgd", "population"])
def test_reduced_config_and_keyword_settings_give_the_same_run_bit_for_bit(source):
    settings = dict(source=source, steps1=4, steps2=2, batch=16, test_size=32, eval_every=2, seed=5, progress=False,
                    snapshot_steps=(0, 3))
    a = train_reduced(GRAPH, PRIOR, **settings)
    b = train_reduced(GRAPH, PRIOR, ReducedTrainingConfig(**settings))
    assert np.array_equal(a.A1, b.A1) and np.array_equal(a.A2, b.A2) and a.train_loss == b.train_loss
    assert a.settings == b.settings and [s for s, _ in a.snapshots] == [0, 3]
    assert [{k: v for k, v in e.items() if k != "seconds"} for e in a.history] == \
           [{k: v for k, v in e.items() if k != "seconds"} for e in b.history]


def test_the_checked_once_paths_compute_what_the_checked_calls_do():
    """The objects checked once (a held-out sample, a batch stream, a sequence loss) give the numbers of the
    public calls that check every time, bit for bit."""
    test = held_out_sample(GRAPH, PRIOR, 64, np.random.default_rng(0), "stationary", 0.1)
    yhat = np.random.default_rng(1).dirichlet(np.ones(3), 64)
    loss, gap = held_out_loss_and_gap(test, yhat)
    assert loss == cross_entropy_of(yhat, test.batch.target)
    assert np.array_equal(gap.excess, gap_to_count_estimator(GRAPH, yhat, test.batch, 0.1).excess)
    stream = BatchStream(GRAPH, PRIOR, 4, 3, torch.Generator().manual_seed(2), "cpu", "stationary", torch.float64)
    tokens, target, _ = sample_sequences_torch(GRAPH, PRIOR, 12, torch.Generator().manual_seed(2))
    for k in range(3):
        x, y = stream.next()
        assert torch.equal(x, tokens[4 * k:4 * k + 4]) and torch.equal(y, target[4 * k:4 * k + 4])
    stream.close()
    y = torch.as_tensor(test.batch.target)
    for loss_kind in ("linearized", "cross_entropy"):
        assert torch.equal(SequenceLoss(loss_kind, 1e-2)(y, y, y),
                           per_sequence_loss(y, y, y, loss_kind, 1e-2))
