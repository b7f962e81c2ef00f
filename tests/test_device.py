"""``proofs-check run --device``: the device reaches every float32 training path, and a device this machine
lacks is refused.  On a machine without CUDA (CI), asking a claim for ``cuda`` must end in the trainer's own
refusal naming ``device``: that shows the profile's device arrived there (a claim that ignored it would train
on the CPU and pass)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from numerics.runtime import training_device
from proofs_check.parallel import Task, run_tasks
from proofs_check.registry import Profile, all_claims
from proofs_check.runner import run_claim

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is what a machine without CUDA shows")

#: every claim whose check trains in float32 (the paths --device moves)
FLOAT32_TRAINING = ("causal.random_graphs_parent_attention", "causal.standard_transformer_chain",
                    "causal.disentangled_graphs", "causal.two_parent_graph",
                    "causal.disentangled_approaches_count_estimator", "ar.haar_bare_layer_fixed_start",
                    "ar.haar_bare_layer_sphere_start", "ar.haar_official_figure5", "ar.haar_raw_tokens")


def test_training_device_names_the_devices():
    assert training_device("cpu") == torch.device("cpu")
    for bad in ("gpu", "", None, 0, "cuda:0"):
        with pytest.raises(ValueError, match="^device: "):
            training_device(bad)


def test_profile_refuses_an_unknown_device():
    assert Profile("quick").device == "cpu"
    with pytest.raises(ValueError, match="^device: "):
        Profile("quick", device="tpu")


@NO_CUDA
@pytest.mark.parametrize("claim_id", FLOAT32_TRAINING)
def test_the_profile_device_reaches_the_trainer(claim_id):
    result = run_claim(all_claims()[claim_id], Profile("quick", 0, device="cuda"))
    assert result.verdict == "error"
    assert "device: 'cuda' was asked" in result.error


@NO_CUDA
def test_the_task_device_reaches_a_worker_process():
    (result,) = run_tasks([Task("ar.haar_official_figure5", "quick", 0, {}, "cuda")], all_claims(), jobs=2)
    assert result.verdict == "error" and "device: 'cuda' was asked" in result.error


@NO_CUDA
def test_cuda_without_a_gpu_is_bad_input_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "proofs_check", "run", "--quick", "--claim", "ar.identity",
                           "--device", "cuda"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --device cuda: CUDA is not available in this torch build or machine (use --device cpu)"]


def test_auto_is_cpu_outside_the_paper_profile_and_the_json_says_so(tmp_path):
    out = tmp_path / "run.json"
    proc = subprocess.run([sys.executable, "-m", "proofs_check", "run", "--quick", "--claim", "ar.identity",
                           "--json", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["device"] == "cpu"


def test_resume_refuses_a_file_trained_on_another_device(tmp_path):
    log = tmp_path / "run.jsonl"
    run = [sys.executable, "-m", "proofs_check", "run", "--quick", "--claim", "ar.identity"]
    assert subprocess.run(run + ["--jsonl", str(log)], capture_output=True, cwd=tmp_path).returncode == 0
    record = json.loads(log.read_text())
    assert record["device"] == "cpu"
    log.write_text(json.dumps({**record, "device": "cuda"}) + "\n")
    proc = subprocess.run(run + ["--resume", str(log)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "trained on 'cuda'" in proc.stderr
