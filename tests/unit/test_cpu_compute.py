"""Settings a CPU run's plan chooses by the machine: the fp32 matmul precision by the CPU's flags
(verl_cpu/matmul.py), vLLM's KV cache and max_model_len by the run's batch, lengths and model
(launcher/hardware.py fit_kv_cache), and old log-probs from the rollout (configs/preset/cpu.yaml)."""

import subprocess
import sys

import pytest
import torch

from conftest import plan_for
from verl_cpu import matmul

SMOLLM2 = {"num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "hidden_size": 576,
           "max_position_embeddings": 8192}


@pytest.mark.parametrize("flags,expected", [
    ({"avx2", "avx512f", "avx512_bf16"}, "medium"),  # AMD Zen 4, Intel Cooper Lake and later
    ({"avx2", "amx_bf16", "amx_tile"}, "medium"),  # Intel Sapphire Rapids
    ({"avx2", "fma"}, "highest"),  # AVX2 only: no bf16 units to use
    (set(), "highest"),  # no /proc/cpuinfo flags (another OS, another architecture)
])
def test_precision_follows_the_cpus_bf16_units(flags, expected, monkeypatch):
    monkeypatch.delenv(matmul.ENV, raising=False)
    assert matmul.planned_precision(flags) == expected


def test_the_users_precision_is_kept(monkeypatch):
    monkeypatch.setenv(matmul.ENV, "highest")
    assert matmul.planned_precision({"avx512_bf16"}) == "highest"


def test_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n")
    assert matmul.cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert matmul.cpu_flags(tmp_path / "missing") == set()


def test_the_cpu_plan_carries_the_precision_to_trainer_and_rollout(monkeypatch):
    """The trainer's workers read it from the Ray job's environment, vLLM from the platform's
    rollout environment; both are applied where each process starts (test_verl_cpu_plugin.py
    checks the trainer's worker)."""
    from verl_cpu.platform import PlatformCPU

    monkeypatch.delenv(matmul.ENV, raising=False)
    plan = plan_for()
    assert plan.env_delta[matmul.ENV] == matmul.planned_precision()
    assert PlatformCPU().rollout_env_vars()[matmul.ENV] == matmul.planned_precision()


def test_medium_precision_keeps_fp32_accuracy_here():
    """What makes it safe to choose: a product at "medium" stays within fp32's own error (as
    measured on AVX512-BF16, 9.5e-7 against 3.7e-7); a bf16 product would be off by ~4e-3. Where
    the CPU has no bf16 units, "medium" is plain fp32 and the bound holds trivially."""
    torch.manual_seed(0)
    a, b = torch.randn(256, 576), torch.randn(576, 1536)
    exact = a.double() @ b.double()
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        error = ((a @ b).double() - exact).abs().max() / exact.abs().max()
    finally:
        torch.set_float32_matmul_precision(before)
    bf16 = ((a.bfloat16() @ b.bfloat16()).double() - exact).abs().max() / exact.abs().max()
    assert error < 1e-5 < bf16


def test_a_process_applies_the_planned_precision():
    code = "from verl_cpu import matmul; import torch; matmul.apply(); print(torch.get_float32_matmul_precision())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", matmul.ENV: "medium"})
    assert out.stdout.strip() == "medium", out.stderr[-2000:]


def test_kv_bytes_per_token_from_the_models_config():
    from launcher.hardware import kv_bytes_per_token

    # SmolLM2-135M: 30 layers x (keys + values) x 3 KV heads x 64 dims x 4 bytes
    assert kv_bytes_per_token(SMOLLM2, 4) == 30 * 2 * 3 * 64 * 4
    assert kv_bytes_per_token({"text_config": SMOLLM2}, 2) == 30 * 2 * 3 * 64 * 2
    assert kv_bytes_per_token({"hidden_size": 64}, 4) is None


def _kv_plan(tmp_path, demo_model, *argv):
    import json
    import shutil

    from conftest import write_jsonl

    tmp_path.mkdir(parents=True, exist_ok=True)
    model = tmp_path / "model"
    shutil.copytree(demo_model, model)
    config = {**json.loads((model / "config.json").read_text()), **SMOLLM2}
    config.pop("layer_types", None)  # one per layer of the demo's own depth
    (model / "config.json").write_text(json.dumps(config))
    data = write_jsonl(tmp_path / "train.jsonl", 40)
    return plan_for("--model", str(model), "--data", str(data), "--max_prompt_length", "64",
                    "--max_response_length", "32", "--batch_size", "4", "--rollout_n", "8", *argv,
                    out=tmp_path / "out")


def test_the_kv_cache_is_sized_from_the_run(tmp_path, demo_model, monkeypatch):
    """One step's 32 responses of 96 tokens (a 128-token block each) with a quarter to spare,
    instead of vLLM-CPU's fixed GiB; max_model_len is the run's longest sequence, so one of the
    model's 8,192 positions need not fit. vLLM honours the size only without VLLM_CPU_KVCACHE_SPACE,
    so the rollout's environment leaves that out unless the user set it."""
    from verl_cpu.platform import PlatformCPU

    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    rollout = _kv_plan(tmp_path, demo_model).cfg.actor_rollout_ref.rollout
    assert rollout.max_model_len == 96
    assert rollout.engine_kwargs.vllm.kv_cache_memory_bytes == int(1.25 * 32 * 128 * 30 * 2 * 3 * 64 * 4)
    assert "VLLM_CPU_KVCACHE_SPACE" not in PlatformCPU().rollout_env_vars()


def test_the_users_kv_cache_and_model_length_are_kept(tmp_path, demo_model, monkeypatch):
    from verl_cpu.platform import PlatformCPU

    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    rollout = _kv_plan(tmp_path, demo_model, "actor_rollout_ref.rollout.max_model_len=4096",
                       "+actor_rollout_ref.rollout.engine_kwargs.vllm.kv_cache_memory_bytes=123456789"
                       ).cfg.actor_rollout_ref.rollout
    assert rollout.max_model_len == 4096 and rollout.engine_kwargs.vllm.kv_cache_memory_bytes == 123456789
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "3")
    plan = _kv_plan(tmp_path / "env", demo_model)
    assert "kv_cache_memory_bytes" not in plan.cfg.actor_rollout_ref.rollout.engine_kwargs.vllm
    assert PlatformCPU().rollout_env_vars()["VLLM_CPU_KVCACHE_SPACE"] == "3"


def test_gpu_plans_leave_the_kv_cache_to_vllm(monkeypatch):
    import os

    from conftest import REPO

    monkeypatch.setenv("PATH", f"{REPO / 'scripts' / 'fake_gpu'}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GPUS", "2")
    rollout = plan_for().cfg.actor_rollout_ref.rollout
    assert "kv_cache_memory_bytes" not in rollout.engine_kwargs.vllm and rollout.max_model_len is None


def test_cpu_runs_take_old_log_probs_from_the_rollout():
    """Both sides compute in fp32 on the CPU (~1e-6 apart), so the trainer's own old-log-prob pass
    is skipped (verl's bypass mode); GPU runs keep it (bf16 rollouts differ from the trainer)."""
    from core.config import compose

    cpu = plan_for().cfg
    assert cpu.algorithm.rollout_correction.bypass_mode is True
    assert cpu.actor_rollout_ref.rollout.calculate_log_probs is True
    assert not compose(["preset=[grpo]"]).algorithm.rollout_correction.bypass_mode


def test_cpu_token_budget_follows_host_memory_and_the_model(monkeypatch):
    """Dynamic batch sizes on a CPU: an update micro-batch's activations and logits may take 5% of
    host memory (SmolLM2-135M: ~2 MB a token in fp32), at least one whole sequence, at most
    verl's default."""
    import launcher.hardware as hw

    smollm2 = {**SMOLLM2, "vocab_size": 49152, "intermediate_size": 1536}
    per_token = 4 * (3 * 49152 + 30 * (10 * 576 + 4 * 1536))
    assert hw.training_bytes_per_token(smollm2) == per_token
    monkeypatch.setattr(hw, "model_config", lambda _cfg: smollm2)
    assert hw.cpu_token_budget(None, 96, memory=24 * 2**30) == int(0.05 * 24 * 2**30) // per_token  # 638
    assert hw.cpu_token_budget(None, 96, memory=8 * 2**30) == int(0.05 * 8 * 2**30) // per_token  # 212
    assert hw.cpu_token_budget(None, 2048, memory=8 * 2**30) == 2048  # never below one sequence
    assert hw.cpu_token_budget(None, 96, memory=2**40) == 16384  # nor above verl's default
    monkeypatch.setattr(hw, "model_config", lambda _cfg: {})
    assert hw.cpu_token_budget(None, 96, memory=24 * 2**30) == 4 * 96  # no config here: four sequences


def test_the_cpu_plan_packs_micro_batches_to_the_budget():
    plan = plan_for()
    actor, rollout = plan.cfg.actor_rollout_ref.actor, plan.cfg.actor_rollout_ref.rollout
    assert actor.use_dynamic_bsz and rollout.log_prob_use_dynamic_bsz
    assert rollout.log_prob_max_token_len_per_gpu == 2 * actor.ppo_max_token_len_per_gpu


def test_vllm_runs_its_model_in_the_engine_core_process():
    """One vLLM process less on a CPU: the preset's single-process executor, which vLLM-CPU keeps
    only with its multiprocessing switch off in the server's environment (the engine core itself
    is still a process of its own under verl's AsyncLLM)."""
    from verl_cpu.platform import PlatformCPU

    assert plan_for().cfg.actor_rollout_ref.rollout.engine_kwargs.vllm.distributed_executor_backend == "uni"
    assert PlatformCPU().rollout_env_vars()["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"
