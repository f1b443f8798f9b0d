"""Users arriving from verl: an example script's override list is a normal run, not the demo, with
every value kept; and the launcher's modules import one way (no circles)."""

import ast
from pathlib import Path

from conftest import REPO, plan_for


def _verl_example(model: str, train: str, val: str) -> list[str]:
    """examples/grpo_trainer/run_qwen2-7b_math.sh's overrides as the shell passes them (paths swapped for
    local ones)."""
    return [
        "algorithm.adv_estimator=grpo", f"data.train_files=['{train}', '{train}']", f"data.val_files=['{val}']",
        "data.train_batch_size=32", "data.max_prompt_length=1024", "data.max_response_length=1024",
        "data.filter_overlong_prompts=True", "data.truncation='error'", f"actor_rollout_ref.model.path={model}",
        "actor_rollout_ref.actor.optim.lr=1e-6", "actor_rollout_ref.model.use_remove_padding=True",
        "actor_rollout_ref.actor.ppo_mini_batch_size=16", "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4",
        "actor_rollout_ref.actor.use_kl_loss=True", "actor_rollout_ref.actor.kl_loss_coef=0.001",
        "actor_rollout_ref.actor.kl_loss_type=low_var_kl", "actor_rollout_ref.actor.entropy_coeff=0",
        "actor_rollout_ref.model.enable_gradient_checkpointing=True",
        "actor_rollout_ref.actor.fsdp_config.param_offload=False",
        "actor_rollout_ref.actor.fsdp_config.optimizer_offload=False",
        "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4",
        "actor_rollout_ref.rollout.tensor_model_parallel_size=2", "actor_rollout_ref.rollout.name=vllm",
        "actor_rollout_ref.rollout.gpu_memory_utilization=0.6", "actor_rollout_ref.rollout.n=5",
        "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=4", "actor_rollout_ref.ref.fsdp_config.param_offload=True",
        "algorithm.use_kl_in_reward=False", "trainer.critic_warmup=0", "trainer.logger=[\"console\",\"wandb\"]",
        "trainer.project_name='verl_grpo_example_gsm8k_math'", "trainer.experiment_name='qwen2_7b_function_rm'",
        "trainer.n_gpus_per_node=8", "trainer.nnodes=1", "trainer.save_freq=20", "trainer.test_freq=5",
        "trainer.total_epochs=15",
    ]


def _with_positions(model: str, folder: Path, positions: int) -> str:
    """A copy of the demo model that claims more positions: the example asks for 1024 + 1024 tokens,
    which the demo model's 256 cannot hold (the launcher refuses that: test_gpu_plans)."""
    import json
    import shutil

    copy = folder / "model"
    shutil.copytree(model, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "max_position_embeddings": positions}))
    return str(copy)


def test_verl_example_override_list_is_a_normal_run(tmp_path, demo_model, monkeypatch):
    monkeypatch.setenv("PATH", f"{REPO / 'scripts' / 'fake_gpu'}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("FAKE_GPUS", "8")
    demo_model = _with_positions(demo_model, tmp_path, 4096)
    data = REPO / "outputs" / "demo"
    plan = plan_for(*_verl_example(demo_model, str(data / "train.parquet"), str(data / "val.parquet")),
                    out=tmp_path / "o")
    cfg = plan.cfg
    assert not plan.demo and "demo" not in plan.overrides[0]
    assert plan.run_dir == tmp_path / "o" / "verl_grpo_example_gsm8k_math" / "qwen2_7b_function_rm"
    assert cfg.trainer.default_local_dir == str(plan.run_dir / "checkpoints")
    assert cfg.trainer.project_name == "verl_grpo_example_gsm8k_math"
    assert list(cfg.data.train_files) == [str(data / "train.parquet")] * 2
    assert cfg.actor_rollout_ref.model.path == demo_model and cfg.data.train_batch_size == 32
    assert cfg.actor_rollout_ref.rollout.tensor_model_parallel_size == 2 and cfg.trainer.test_freq == 5
    assert cfg.actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu == 4  # the user's own values stay
    assert list(cfg.trainer.logger) == ["console", "wandb", "file"]  # file: the launcher's progress reads it


def test_verl_gsm8k_override_list_on_a_cpu(tmp_path, demo_model):
    """run_qwen2-7b.sh's shape, fewer keys, on this machine: still the user's run, in the user's folder."""
    data = REPO / "outputs" / "demo"
    plan = plan_for(f"actor_rollout_ref.model.path={demo_model}", f"data.train_files={data / 'train.parquet'}",
                    f"data.val_files={data / 'val.parquet'}", "trainer.project_name=p", "trainer.experiment_name=e",
                    "data.train_batch_size=16", out=tmp_path / "o")
    assert not plan.demo and plan.run_dir == tmp_path / "o" / "p" / "e"
    assert plan.cfg.data.val_files == str(data / "val.parquet")


def test_launcher_imports_one_way():
    """No module of launcher/ imports another that (directly or not) imports it back."""
    package = REPO / "launcher"
    graph = {}
    for path in package.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        graph[path.stem] = {d for d in deps if (package / f"{d}.py").exists()}

    def reaches(start, target, seen=()):
        return any(d == target or (d not in seen and reaches(d, target, (*seen, d))) for d in graph[start])

    circles = sorted(m for m in graph if reaches(m, m))
    assert circles == [], f"import circles through: {circles}"


def test_metrics_file_is_read_in_one_place():
    readers = [str(p.relative_to(REPO)) for folder in ("launcher", "adagrpo_ext", "bench")
               for p in (REPO / folder).glob("*.py") if "json.loads(line)" in p.read_text() and p.name != "metrics.py"]
    assert readers == []


def _reward_file(tmp_path) -> Path:
    path = tmp_path / "my_reward.py"
    path.write_text("def my_score(data_source, solution_str, ground_truth, extra_info=None):\n"
                    "    return float(solution_str.strip() == ground_truth)\n")
    return path


def test_verl_legacy_reward_keys_are_honoured_as_verls_migration_reads_them(tmp_path, demo_model):
    """verl 0.9.1's main_ppo ignores custom_reward_function.* and reward_model.* (only fully_async_main
    migrates them): through train.sh they mean what they meant, and the plan says so."""
    data = REPO / "outputs" / "demo"
    reward = _reward_file(tmp_path)
    plan = plan_for("--model", demo_model, "--data", str(data / "train.parquet"),
                    f"custom_reward_function.path={reward}", "custom_reward_function.name=my_score",
                    "reward_model.reward_manager=naive", "+reward_model.reward_kwargs.overlong_buffer_cfg.len=8",
                    out=tmp_path / "o")
    fn = plan.cfg.reward.custom_reward_function
    assert (fn.path, fn.name) == (str(reward), "my_score")
    assert plan.cfg.reward.reward_manager.name == "naive"
    assert plan.cfg.reward.reward_kwargs.overlong_buffer_cfg.len == 8
    said = [n for n in plan.notes if "verl's legacy key" in n]
    assert len(said) == 4 and any("read as reward.custom_reward_function.path" in n for n in said)
    assert not any(o.startswith("custom_reward_function.") for o in plan.command)


def test_a_legacy_key_verls_migration_drops_is_one_line(tmp_path, demo_model):
    import pytest

    from core.errors import UsageError

    data = REPO / "outputs" / "demo"
    with pytest.raises(UsageError, match="reward_model.model.trust_remote_code: a legacy verl key"):
        plan_for("--model", demo_model, "--data", str(data / "train.parquet"),
                 "reward_model.model.trust_remote_code=true", out=tmp_path / "o")
