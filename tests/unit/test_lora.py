"""LoRA on the CPU and the plan's choice of sync: the adapters merged into the weights for the
rollout, in the rollout's precision (core/lora_sync.py), on a real peft model under FSDP2 against
PEFT's own merge; the plan merges on the CPU and where vLLM cannot load the rank, and sends adapters
where it can (GPU plans: a fake nvidia-smi, as in test_gpu_plans.py, because there are no GPUs here)."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, plan_for
from launcher.flags import parse
from launcher.plan import build_plan

MERGE = "actor_rollout_ref.model.lora.merge"
DTYPE_ENV = "ray_kwargs.ray_init.runtime_env.env_vars.GRPO_ROLLOUT_DTYPE"


def _probe(dtype: str) -> dict:
    out = subprocess.run([sys.executable, str(REPO / "tests" / "unit" / "lora_sync_probe.py"), dtype], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_merged_weights_reach_a_float32_rollout_exactly_every_sync():
    got = _probe("float32")
    for label in ("ours", "ours_again"):  # a second sync after the first's restore merges again
        assert got[label]["names_matched"] == got[label]["names_expected"]
        assert got[label]["dtypes"] == ["torch.float32"] and got[label]["max_error"] < 1e-6, got[label]
    assert got["restored"]  # training goes on from the un-merged base weights
    # why core/lora_sync.py exists: verl 0.9.1 sends bf16 whatever the rollout computes in (when this
    # fails, verl keeps the precision itself and the override may go)
    assert got["verl"]["dtypes"] == ["torch.bfloat16"] and got["verl"]["max_error"] > 1e-4


def test_a_bf16_rollout_gets_what_verl_sends():
    got = _probe("bfloat16")
    assert got["ours"]["dtypes"] == ["torch.bfloat16"] and got["ours"]["max_error"] < 5e-3


def test_lora_on_the_cpu_plans_a_merged_sync_in_float32():
    plan = plan_for("--preset", "lora")
    assert f"++{MERGE}=true" in plan.overrides and f"++{DTYPE_ENV}='float32'" in plan.overrides
    assert plan.cfg.actor_rollout_ref.model.lora.merge is True
    assert any("LoRA rank 16: merged into the weights" in n and "float32" in n for n in plan.notes)


def test_full_fine_tuning_plans_nothing_about_lora():
    plan = plan_for()
    assert not any(MERGE in o for o in plan.overrides) and not any("LoRA" in n for n in plan.notes)


@pytest.fixture
def gpu_plan(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", f"{REPO / 'scripts' / 'fake_gpu'}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("FAKE_GPUS", "2")

    def plan(*argv):
        return build_plan(parse([*argv, "--output_dir", str(tmp_path), "--dry-run"], environ={}))
    return plan


@pytest.mark.parametrize("argv,merge,why", [
    (["--lora_rank", "16"], False, "vllm loads the adapters"),
    (["--lora_rank", "1024"], True, "vLLM loads adapters up to rank 512"),
    (["--lora_rank", "16", f"{MERGE}=true"], True, f"{MERGE} set"),
])
def test_gpu_plans_choose_the_sync_by_what_vllm_loads(gpu_plan, argv, merge, why):
    from verl.utils.config import validate_config

    plan = gpu_plan(*argv)
    assert plan.cfg.actor_rollout_ref.model.lora.merge is merge
    assert any(why in n for n in plan.notes), plan.notes
    if merge:
        assert f"++{DTYPE_ENV}='bfloat16'" in plan.overrides  # the GPU rollout's dtype: what verl sends
    validate_config(plan.cfg, use_reference_policy=False, use_critic=False)
