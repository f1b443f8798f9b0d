"""What users bring from TRL, verl's recipes and OpenRLHF, one class of case per test: each either
does what their tool would, or is refused in one line that names the fix."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, plan_for, write_jsonl
from core.errors import UsageError
from reward.user_file import RewardFileError, check, load_any


def _one_line(message: str) -> bool:
    return "\n" not in message.strip()


# --- TRL reward functions: a row's own columns win over our names for the ground truth ----------

def test_a_datasets_own_solution_column_reaches_a_trl_function(tmp_path):
    (tmp_path / "r.py").write_text("def r(completions, solution, **kwargs):\n    return [float(len(solution[0]))]\n")
    fn = load_any(f"{tmp_path / 'r.py'}:r")
    # TRL passes the row's `solution` column; the ground truth (the answer column) is another
    assert fn("math", "x", "42", extra_info={"solution": "a worked solution"}) == len("a worked solution")
    assert fn("math", "x", "42", extra_info={}) == 2.0  # no such column: the ground truth, by TRL's examples' name


# --- OpenRLHF reward files -------------------------------------------------------------------------

OPENRLHF_TENSOR = '''
import torch

def reward_func(queries, prompts, labels):
    """OpenRLHF's example shape: queries are prompt + response"""
    return torch.tensor([float(q[len(p):].strip() == f"<answer>{l}</answer>") for q, p, l in zip(queries, prompts, labels)])
'''
OPENRLHF_DICT = '''
def reward_func(queries, prompts, labels, **kwargs):
    rewards = [0.5 if q.endswith("</answer>") else 0.0 for q in queries]
    return {"rewards": rewards, "scores": rewards, "extra_logs": {}}
'''


def test_openrlhf_reward_files_run_as_openrlhf_calls_them(tmp_path):
    (tmp_path / "tensor.py").write_text(OPENRLHF_TENSOR)
    (tmp_path / "dict.py").write_text(OPENRLHF_DICT)
    sample = {"data_source": "math", "ground_truth": "4", "prompt": [{"role": "user", "content": "2+2?"}]}
    assert check(f"{tmp_path / 'tensor.py'}:reward_func", {**sample, "solution_str": "<answer>4</answer>"}) == 1.0
    assert check(f"{tmp_path / 'tensor.py'}:reward_func", {**sample, "solution_str": "<answer>5</answer>"}) == 0.0
    assert check(f"{tmp_path / 'dict.py'}:reward_func", {**sample, "solution_str": "<answer>5</answer>"}) == 0.5
    (tmp_path / "bad.py").write_text("def reward_func(queries, prompts, labels):\n    return {'score': [1.0]}\n")
    with pytest.raises(RewardFileError, match="without 'rewards'"):
        check(f"{tmp_path / 'bad.py'}:reward_func", {**sample, "solution_str": "x"})


def test_reward_check_scores_an_openrlhf_file_and_takes_the_column_options(tmp_path):
    (tmp_path / "openrlhf.py").write_text(OPENRLHF_TENSOR)
    data = tmp_path / "qa.jsonl"
    data.write_text("\n".join(json.dumps({"question": f"{i}+1", "solution": str(i + 1)}) for i in range(3)))
    out = subprocess.run([sys.executable, "-m", "model_tools.reward_check", "check", str(data), "--prompt_key",
                          "question", "--answer-key", "solution", "--response", "<answer>2</answer>",
                          "--reward_func", f"{tmp_path / 'openrlhf.py'}:reward_func"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "1.0:     1" in out.stdout and "0.0:     2" in out.stdout


# --- one rule for a verl function's None ----------------------------------------------------------

def test_a_verl_function_returning_none_stops_the_plan_as_it_stops_training(tmp_path, demo_model):
    (tmp_path / "none.py").write_text("def compute_score(data_source, solution_str, ground_truth, extra_info=None):\n"
                                      "    return None\n")
    with pytest.raises(UsageError) as err:
        plan_for("--model", demo_model, "--data", str(write_jsonl(tmp_path / "t.jsonl", 40)),
                 "--reward_func", str(tmp_path / "none.py"), out=tmp_path / "o")
    assert "returned None" in str(err.value) and "must score every response" in str(err.value)
    assert _one_line(str(err.value))


# --- the group size -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--rollout_n", "1"], ["actor_rollout_ref.rollout.n=1"],
                                  ["--rollout_n", "1", "--preset", "adagrpo"],  # an extension's estimator
                                  ["--rollout_n", "1", "--difficulty_scale", "0.5"]])
def test_a_group_of_one_is_refused(argv):
    with pytest.raises(UsageError, match="a group of one has none; use --rollout_n 2 or more"):
        plan_for(*argv)


# --- verl's schemas ---------------------------------------------------------------------------------

def _parquet(path, rows):
    import pandas as pd

    pd.DataFrame(rows).to_parquet(path)
    return str(path)


def _verl_row(i, **extra):
    return {"data_source": "math", "prompt": [{"role": "user", "content": f"{i}+1"}], "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": str(i + 1)}, "extra_info": {"index": i}, **extra}


def test_a_parquet_without_data_source_is_one_line_in_the_plan_and_in_reward_check(tmp_path, demo_model):
    rows = [{k: v for k, v in _verl_row(i).items() if k != "data_source"} for i in range(40)]
    data = _parquet(tmp_path / "train.parquet", rows)
    with pytest.raises(UsageError, match="no 'data_source' column") as err:
        plan_for("--model", demo_model, "--data", data, out=tmp_path / "o")
    assert _one_line(str(err.value))
    out = subprocess.run([sys.executable, "-m", "model_tools.reward_check", "check", data, "--response", "2"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "no 'data_source' column" in out.stderr and "Traceback" not in out.stderr


def test_rows_with_images_and_a_text_only_model_are_refused(tmp_path, demo_model):
    """verl's geo3k schema: an `images` column and <image> in the prompt."""
    rows = [_verl_row(i, images=[{"bytes": b"\x89PNG"}]) for i in range(40)]
    for row in rows:
        row["prompt"] = [{"role": "user", "content": "<image>What is the area?"}]
    data = _parquet(tmp_path / "geo3k.parquet", rows)
    with pytest.raises(UsageError, match="'images' column .* is a text-only model"):
        plan_for("--model", demo_model, "--data", data, out=tmp_path / "o")


# --- PPO's keys on a GRPO run --------------------------------------------------------------------------

def test_ppo_keys_on_a_grpo_run_are_said_to_do_nothing():
    plan = plan_for("critic.optim.lr=1e-5", "critic.ppo_micro_batch_size_per_gpu=4", "algorithm.kl_ctrl.kl_coef=0.01")
    said = "\n".join(plan.warnings)
    assert "critic.optim.lr, critic.ppo_micro_batch_size_per_gpu do nothing in this run: GRPO has no critic" in said
    assert "algorithm.kl_ctrl.kl_coef do nothing in this run" in said and "use_kl_in_reward" in said


# --- saved datasets (datasets' save_to_disk), with their own test split ------------------------------

@pytest.fixture
def saved_dataset(tmp_path):
    import datasets

    rows = lambda n, start: [{"prompt": f"{i}+1", "answer": str(i + 1)} for i in range(start, start + n)]  # noqa: E731
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows(60, 0)),
                          "test": datasets.Dataset.from_list(rows(12, 100))}).save_to_disk(str(folder))
    return folder


def test_data_prep_keeps_a_saved_datasets_test_split_as_validation(saved_dataset, tmp_path):
    import pyarrow.parquet as pq

    out = subprocess.run([sys.executable, "-m", "data_prep", "convert", str(saved_dataset), "--answer-key", "answer",
                          "--out", str(tmp_path / "prep")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert pq.ParquetFile(tmp_path / "prep" / "train.parquet").metadata.num_rows == 60  # none carved out
    assert pq.ParquetFile(tmp_path / "prep" / "val.parquet").metadata.num_rows == 12
    assert "the 'test' split" in out.stderr


def test_train_sh_takes_a_saved_dataset_folder_as_data(saved_dataset, tmp_path, demo_model):
    plan = plan_for("--model", demo_model, "--data", str(saved_dataset), "--answer_key", "answer", out=tmp_path / "o")
    assert plan.train_rows == 60
    notes = "\n".join(plan.notes)
    assert "a saved dataset" in notes and "the saved dataset's 'test' split, whole" in notes


# --- standard-format prompts: the plan says what happens ------------------------------------------------

def test_plain_string_prompts_are_said_to_go_through_the_chat_template(tmp_path, demo_model):
    plan = plan_for("--model", demo_model, "--data", str(write_jsonl(tmp_path / "t.jsonl", 40)), out=tmp_path / "o")
    notes = "\n".join(plan.notes)
    assert "training rows were plain strings (TRL's standard format)" in notes and "chat template" in notes


# --- a hub id: the plan says when it is checked, and the check is one line ------------------------------

def test_a_hub_id_is_checked_before_the_run_in_one_line(tmp_path, monkeypatch):
    from launcher.inputs import check_hub_model, resolve_model

    model, line = resolve_model("Qwen/Qwen2.5-0.5B-Instrcut")
    assert model == "Qwen/Qwen2.5-0.5B-Instrcut" and "checked before the run starts" in line
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # this machine has no hub: that path is real here
    with pytest.raises(UsageError, match="not in the local hub cache, and the hub cannot be reached"):
        check_hub_model("Qwen/Qwen2.5-0.5B-Instrcut")


def test_a_misspelled_hub_id_is_named_when_the_hub_answers(monkeypatch):
    """Mocked: no hub can be reached from this machine. The hub's own error class, as it raises it."""
    import huggingface_hub
    from huggingface_hub.errors import RepositoryNotFoundError

    from launcher import inputs

    def not_found(self, repo_id, **kwargs):
        import httpx

        request = httpx.Request("GET", f"https://huggingface.co/api/models/{repo_id}")
        raise RepositoryNotFoundError(f"404: {repo_id}", response=httpx.Response(404, request=request))

    monkeypatch.setattr("shipped_models.hub_reachable", lambda timeout=2.0: True)
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", not_found)
    with pytest.raises(UsageError, match="no such model on the hub"):
        inputs.check_hub_model("Qwen/Qwen2.5-0.5B-Instrcut")


# --- verl's DAPO recipe raises the model's positions itself ----------------------------------------------

def test_the_users_own_max_position_embeddings_counts(tmp_path, demo_model):
    data = str(write_jsonl(tmp_path / "t.jsonl", 40))
    lengths = ["--max_prompt_length", "512", "--max_response_length", "1024"]
    with pytest.raises(UsageError, match="more than the model's"):
        plan_for("--model", demo_model, "--data", data, *lengths, out=tmp_path / "a")
    plan = plan_for("--model", demo_model, "--data", data, *lengths,
                    "+actor_rollout_ref.model.override_config.max_position_embeddings=32768", out=tmp_path / "b")
    assert int(plan.cfg.data.max_response_length) == 1024


# --- TRL's GRPO options on verl's own settings --------------------------------------------------------------

def test_batch_scaled_advantages_are_trls():
    """TRL's scale_rewards="batch": reward minus its group's mean, over the std of all the batch's rewards."""
    import numpy as np
    import torch

    from grpo_ext.advantage import compute_grpo_batch_std_advantage

    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.5, 0.0])
    index = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    mask = torch.ones(8, 3)
    token_rewards = torch.zeros(8, 3)
    token_rewards[:, -1] = rewards
    advantages, _ = compute_grpo_batch_std_advantage(token_rewards, mask, index)
    means = torch.tensor([0.5, 0.5, 0.0, 0.0, 1.0, 1.0, 0.25, 0.25])
    expected = (rewards - means) / (rewards.std() + 1e-6)
    assert torch.allclose(advantages[:, 0], expected) and torch.allclose(advantages, advantages[:, :1].expand(8, 3))


@pytest.mark.parametrize("argv", [
    ["--loss_type", "cispo"], ["--loss_type", "sapo"], ["--importance_sampling_level", "sequence"],
    ["--scale_rewards", "batch"], ["--vllm_importance_sampling_correction", "true"],
    ["--vllm_importance_sampling_correction", "true", "--vllm_importance_sampling_mode", "sequence_truncate"],
])
def test_each_trl_option_plans_through_verls_validator(argv):
    cfg = plan_for(*argv).cfg
    assert cfg.actor_rollout_ref.actor.policy_loss.loss_mode in ("vanilla", "cispo", "sapo", "gspo")


def _nested(rows):
    import torch

    return torch.nested.nested_tensor([torch.tensor(r, dtype=torch.float32) for r in rows], layout=torch.jagged)


def test_truncated_responses_leave_the_update_mask_and_its_token_count():
    from grpo_ext.token_masks import keep_untruncated

    mask = _nested([[1, 1, 1, 1], [1, 1], [1, 1, 1, 1], [1, 1, 1]])  # limit 4: rows 0 and 2 were cut
    kept, cut = keep_untruncated(mask, 4)
    assert cut == 2 and [r.tolist() for r in kept.unbind()] == [[0, 0, 0, 0], [1, 1], [0, 0, 0, 0], [1, 1, 1]]
    assert float(kept.values().sum()) == 5  # what verl divides the loss by (its loss_mask.sum())
    from tensordict import TensorDict  # verl's loss pads the batch's fields together: the rows' lengths must hold

    padded = TensorDict({"response_mask": kept, "old_log_probs": _nested([[0] * 4, [0] * 2, [0] * 4, [0] * 3])},
                        batch_size=4).to_padded_tensor()
    assert padded["response_mask"].shape == padded["old_log_probs"].shape == (4, 4)
    padded_rows = _nested([[1, 1, 1, 0], [1, 1, 1, 1]])  # rows padded to the limit: the mask counts
    kept, cut = keep_untruncated(padded_rows, 4)
    assert cut == 1 and [r.tolist() for r in kept.unbind()] == [[1, 1, 1, 0], [0, 0, 0, 0]]
    every = _nested([[1, 1], [1, 1]])
    out, cut = keep_untruncated(every, 2)
    assert out is every and cut == 0  # all cut: left whole, never a division by zero


def test_the_entropy_mask_keeps_the_top_share_of_response_tokens():
    import torch

    from grpo_ext.token_masks import keep_high_entropy

    mask = _nested([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]])
    entropy = torch.tensor([[0.1, 0.2, 3.0, 0.3, 0.4], [2.0, 0.5, 0.6, 0.7, 0.8]])
    kept = keep_high_entropy(mask, entropy, 0.2)  # the top fifth of 10 tokens: 2
    assert [r.tolist() for r in kept.unbind()] == [[0, 0, 1, 0, 0], [1, 0, 0, 0, 0]]
    short = _nested([[1, 1, 1], [1, 1, 1, 1, 1]])  # padding (row 0 past 3) never counts
    padded = torch.tensor([[5.0, 0.0, 0.0, 9.0, 9.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    assert [r.tolist() for r in keep_high_entropy(short, padded, 0.1).unbind()] == [[1, 0, 0], [0, 0, 0, 0, 0]]
