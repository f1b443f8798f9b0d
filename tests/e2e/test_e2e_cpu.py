"""verl's real GRPO trainer, end to end on the CPU: the built-in demo model, three steps, then the
same run extended to four with --resume. The reward is a pair of TRL-style reward functions with
weights (`--reward_func ... --reward_func ... --reward_weights 1,0.2`), through verl's reward loop.

Runs `python -m launcher` exactly as train.sh does (vLLM-CPU rollout, FSDP2 actor, reference
model, KL loss) under a hard timeout; the launcher kills the whole process tree on failure.
"""

import json
import os
import subprocess
import sys

import psutil
import pytest

from conftest import REPO, run_launcher

pytestmark = pytest.mark.e2e


# TRL's shapes: conversational completions, dataset columns as kwargs. Each returns None ("no
# score") when what TRL would pass is missing, so the scores below also show it arrived.
TRL_LABEL = """
def reward_label(completions, completion_ids=None, **kwargs):
    if not completion_ids or not completion_ids[0]:
        return [None]
    return [1.0 if c[0]["content"].strip() == f"<answer>{a}</answer>" else 0.0
            for c, a in zip(completions, kwargs["answer"])]
"""
TRL_FORMAT = """
def format_reward(completions, prompts=None, **kwargs):
    if not prompts or not prompts[0] or prompts[0][-1]["role"] != "user":
        return [None]
    return [1.0 if c[0]["content"].startswith("<answer>") else 0.0 for c in completions]
"""


@pytest.fixture(scope="module")
def three_steps(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    (out / "label.py").write_text(TRL_LABEL)
    (out / "fmt.py").write_text(TRL_FORMAT)
    rewards = ["--reward_func", f"{out / 'label.py'}:reward_label", "--reward_func", f"{out / 'fmt.py'}:format_reward",
               "--reward_weights", "1,0.2"]
    # no --experiment and no --save_freq: the default run folder, and the default saves the last step
    first = run_launcher(out, None, ["--total_steps", "3", "--test_freq", "-1", "trainer.val_before_train=false",
                                     *rewards])
    first.update(out=out, rewards=rewards)
    return first


@pytest.fixture(scope="module")
def extended(three_steps):
    # validates at its last step: the figure eval.sh must reproduce
    return run_launcher(three_steps["out"], None, ["--total_steps", "4", "--resume", "--test_freq", "1",
                                                   "trainer.val_before_train=false", *three_steps["rewards"]])


def test_three_real_steps_ran(three_steps):
    assert len(three_steps["steps"]) == 3
    assert "step    3/3" in three_steps["stdout"]


def test_weight_sync_reaches_vllm(three_steps):
    """The rollout engine's log-probs match the trainer's: vLLM runs the trainer's weights. CPU runs
    take old log-probs from the rollout (verl's bypass mode), and the demo trains one mini-batch a
    step, so PPO's ratio compares the trainer's log-probs with vLLM's before any update of the step:
    its mean log-ratio (actor/ppo_kl) is the gap, ~1e-6 here. A rollout one step stale is off by the
    step's update (the policy's KL to its start, actor/kl_loss, is ~0.04 after a step)."""
    assert three_steps["steps"][0]["actor/pg_clipfrac"] == 0.0
    for data in three_steps["steps"]:
        assert "training/rollout_probs_diff_mean" not in data  # no second pass over the batch: bypass mode
        assert abs(data["actor/ppo_kl"]) < 1e-3


def test_each_step_logs_its_zero_signal_groups_and_generated_tokens(three_steps):
    for data in three_steps["steps"]:
        assert 0.0 <= data["training/zero_signal_group_frac"] <= 1.0
        # the trained batch's response tokens: its mean length times a whole number of responses
        responses = data["training/generated_tokens"] / data["response_length/mean"]
        assert responses >= 2 and responses == pytest.approx(round(responses), abs=1e-3)


def test_trl_reward_pair_scores_with_weights(three_steps):
    for data in three_steps["steps"]:
        label = data["reward/reward_label/mean"]
        fmt = data["reward/format_reward/mean"]
        assert fmt > 0.5  # prompts reached it (else None: no score), and the demo answers in tags
        assert data["critic/score/mean"] == pytest.approx(label + 0.2 * fmt, abs=1e-4)
        assert 0 < label < 1  # completion_ids reached it, and the groups differ
        assert data["reward/reward_timeout/mean"] == 0


def test_policy_moves_away_from_reference(three_steps):
    assert three_steps["steps"][-1]["actor/kl_loss"] > 0


def test_checkpoint_and_config_written(three_steps):
    run_dir = three_steps["run_dir"]
    assert (run_dir / "config.yaml").is_file() and (run_dir / "curves.png").stat().st_size > 1000
    assert (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "3"


def test_extended_run_continues_from_its_last_checkpoint_in_the_same_folder(three_steps, extended):
    from core.metrics import read_records, training_steps

    assert extended["run_dir"] == three_steps["run_dir"]
    assert extended["step_numbers"] == [4]  # step 4 only: restored from checkpoint 3
    earlier = read_records(extended["run_dir"] / "metrics.previous.jsonl")  # the first run's steps kept
    assert [r["step"] for r in training_steps(earlier)] == [1, 2, 3]
    assert (extended["run_dir"] / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "4"


def _tool(script, *args, stdin=None):
    proc = subprocess.run([str(REPO / script), *map(str, args)], capture_output=True, text=True, cwd=REPO, input=stdin,
                          timeout=900, env={**os.environ, "GRPO_PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def evaluated(extended, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    proc = _tool("eval.sh", extended["run_dir"], "--n", "4", "--out", out)
    return {"proc": proc, "out": out, "results": json.loads((out / "results.json").read_text())}


def test_finished_run_prints_eval_and_export_commands(extended):
    assert f"./eval.sh {extended['run_dir']}" in extended["stdout"] and "./export.sh" in extended["stdout"]


def test_eval_of_the_run_gives_its_own_validation_accuracy(extended, evaluated):
    from core.metrics import read_records, val_accuracy

    trained = [val_accuracy(r["data"]) for r in read_records(extended["run_dir"] / "metrics.jsonl")]
    trained = [a for a in trained if a is not None]
    results = evaluated["results"]
    assert trained and results["model"].endswith("step 4") and results["n_problems"] == 64
    assert abs(results["greedy_accuracy"] - trained[-1]) <= 0.05, (results["greedy_accuracy"], trained[-1])
    samples = [json.loads(line) for line in (evaluated["out"] / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 64 and len(samples[0]["sampled"]) == 4 and samples[0]["greedy"][0]["response"]
    solved = [s["correct"] for row in samples for s in row["sampled"]]
    assert set(results["pass_at_k"]) == {"1", "2", "4"} and results["pass_at_k"]["1"] == pytest.approx(sum(solved) / 256)
    assert results["pass_at_k"]["4"] >= results["pass_at_k"]["2"] >= results["pass_at_k"]["1"]
    assert "math_reasoning" in results["per_data_source"] and "pass@4" in evaluated["proc"].stdout


@pytest.fixture(scope="module")
def exported(extended, evaluated, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "model"
    _tool("export.sh", extended["run_dir"], "--out", out)
    return out


def test_export_is_a_hugging_face_folder_with_the_checkpoint_weights(extended, exported):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json", "README.md"):
        assert (exported / name).is_file(), name
    assert "step 4" in (exported / "README.md").read_text()
    AutoModelForCausalLM.from_pretrained(exported), AutoTokenizer.from_pretrained(exported)
    # the same weights eval.sh ran (verl's merger output beside the checkpoint)
    merged = extended["run_dir"] / "checkpoints" / "global_step_4" / "hf_merged" / "model.safetensors"
    a, b = load_file(exported / "model.safetensors"), load_file(merged)
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


@pytest.mark.slow
def test_eval_of_the_export_gives_the_same_accuracy(three_steps, evaluated, exported, tmp_path):
    # an HF folder has no run config: the run's reward functions are given as train.sh took them
    _tool("eval.sh", exported, "--data", evaluated["results"]["data"][0], "--out", tmp_path, *three_steps["rewards"],
          "--max_response_length", evaluated["results"]["max_response_length"])
    again = json.loads((tmp_path / "results.json").read_text())
    assert again["n_problems"] == 64 and abs(again["greedy_accuracy"] - evaluated["results"]["greedy_accuracy"]) <= 0.05


def test_chat_through_stdin(exported, tmp_path):
    saved = tmp_path / "dialogue.json"
    proc = _tool("chat.sh", exported, "--temperature", "0", stdin=f"2+3\n/temp 0.5\n/save {saved}\n/quit\n")
    assert "model> <answer>" in proc.stdout and "(temperature 0.5)" in proc.stdout
    dialogue = json.loads(saved.read_text())
    assert [m["role"] for m in dialogue["messages"]] == ["user", "assistant"] and dialogue["temperature"] == 0.5


def test_no_process_left_behind(three_steps, extended):
    # Only this run's processes: they carry its marker in their environment (Ray's daemons and
    # workers inherit the driver's), so another Ray job on the machine cannot fail this test.
    mark = three_steps["mark"]
    leftovers = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if p.environ().get("GRPO_TEST_MARK") in (mark, extended["mark"]):
                leftovers.append(p.info["cmdline"])
        except psutil.Error:
            pass
    assert leftovers == []
