"""LoRA end to end on the CPU: verl's real trainer with adapters on the demo model, merged into the
weights for vLLM before each sync (core/lora_sync.py), then eval.sh, export.sh (merged weights by
default, the PEFT adapter with --adapter_only), chat.sh, and --resume from the adapter checkpoint."""

import json
import os
import subprocess
import sys

import pytest
import torch

from conftest import REPO, run_launcher

pytestmark = pytest.mark.e2e

LORA = ["--lora_rank", "8", "--lora_alpha", "16", "--lr", "2e-3", "--test_freq", "-1", "trainer.val_before_train=false"]


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lora")
    run = run_launcher(out, "lora", ["--total_steps", "2", *LORA])
    run["out"] = out
    return run


def _tool(script, *args, stdin=None):
    proc = subprocess.run([str(REPO / script), *map(str, args)], capture_output=True, text=True, cwd=REPO, input=stdin,
                          timeout=900, env={**os.environ, "GRPO_PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_lora_trains_on_the_cpu_with_the_merged_weights_in_vllm(lora_run):
    """Old log-probs come from vLLM (bypass mode) and the demo trains one mini-batch a step, so PPO's
    mean log-ratio before the step's update (actor/ppo_kl) is the rollout/trainer gap: ~1e-6 when the
    merged adapters reached vLLM, and the size of a step's change when they did not (verl's own bf16
    merge gave ~2e-3; a rollout one step stale is off by the update, actor/kl_loss)."""
    assert "LoRA rank 8: merged into the weights before each sync" in lora_run["stdout"]
    steps = lora_run["steps"]
    assert len(steps) == 2
    for data in steps:
        assert abs(data["actor/ppo_kl"]) < 1e-4, data["actor/ppo_kl"]
    assert steps[-1]["actor/kl_loss"] > 1e-3  # the adapters moved the policy: a stale rollout would show


def test_export_merges_the_adapter_and_adapter_only_keeps_it(lora_run, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    merged, adapter = tmp_path / "merged", tmp_path / "adapter"
    _tool("export.sh", lora_run["run_dir"], "--out", merged)
    _tool("export.sh", lora_run["run_dir"], "--adapter_only", "--out", adapter)
    assert (merged / "model.safetensors").is_file() and not (merged / "adapter_config.json").exists()
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["r"] == 8 and config["base_model_name_or_path"]
    ids = torch.tensor([[1, 5, 9, 14, 3, 7]])
    plain = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32).eval()  # no peft: plain weights
    base = AutoModelForCausalLM.from_pretrained(config["base_model_name_or_path"], dtype=torch.float32)
    with_adapter = PeftModel.from_pretrained(base, adapter).eval()
    with torch.no_grad():
        a, b = plain(ids).logits, with_adapter(ids).logits
        with with_adapter.disable_adapter():
            untrained = with_adapter(ids).logits
    # verl's model merger saves bf16 weights (so does the merged export): bf16's rounding apart, the
    # same model, with the same greedy tokens; the trained adapter moves the logits far more than that
    assert (a - b).abs().max() < 0.02 and torch.equal(a.argmax(-1), b.argmax(-1))
    assert (b - untrained).abs().max() > 0.05


def test_eval_and_chat_take_a_lora_run(lora_run, tmp_path):
    _tool("eval.sh", lora_run["run_dir"], "--out", tmp_path / "eval")
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["n_problems"] == 64 and results["model"].endswith("step 2")
    proc = _tool("chat.sh", lora_run["run_dir"], "--temperature", "0", stdin="2+3\n/quit\n")
    assert "model> " in proc.stdout


@pytest.mark.slow
def test_resume_continues_from_the_adapter_checkpoint(lora_run):
    more = run_launcher(lora_run["out"], "lora", ["--total_steps", "3", "--resume", *LORA])
    assert more["step_numbers"] == [3] and abs(more["steps"][0]["actor/ppo_kl"]) < 1e-4


@pytest.mark.slow
def test_adagrpo_with_lora(tmp_path):
    run = run_launcher(tmp_path, "ada_lora", ["--preset", "adagrpo", "--total_steps", "2", *LORA])
    assert len(run["steps"]) == 2 and all(abs(d["actor/ppo_kl"]) < 1e-4 for d in run["steps"])
