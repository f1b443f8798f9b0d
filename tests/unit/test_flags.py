"""The launcher's flag table: each flag -> its Hydra key, env vars, precedence, and errors."""

import pytest

from launcher import flags as cli
from launcher.inputs import check_files
from reward.spec import RewardSpec
from launcher.flags import FLAGS, UsageError, parse

# (argv, the override it must produce)  -- one line per flag that maps to a Hydra key
CASES = [
    (["--model", "Qwen/Qwen2.5-7B"], "actor_rollout_ref.model.path=Qwen/Qwen2.5-7B"),
    (["--rollout_n", "8"], "actor_rollout_ref.rollout.n=8"),
    (["--epochs", "20"], "trainer.total_epochs=20"),
    (["--total_steps", "7"], "trainer.total_training_steps=7"),
    (["--batch_size", "64"], "data.train_batch_size=64"),
    (["--lr", "5e-7"], "actor_rollout_ref.actor.optim.lr=5e-07"),
    (["--kl_coef", "0.01"], "actor_rollout_ref.actor.kl_loss_coef=0.01"),
    (["--kl_loss_type", "low_var_kl"], "actor_rollout_ref.actor.kl_loss_type=low_var_kl"),
    (["--no_kl"], "actor_rollout_ref.actor.use_kl_loss=false"),
    (["--max_prompt_length", "512"], "data.max_prompt_length=512"),
    (["--max_response_length", "256"], "data.max_response_length=256"),
    (["--temperature", "0.7"], "actor_rollout_ref.rollout.temperature=0.7"),
    (["--n_gpus", "8"], "trainer.n_gpus_per_node=8"),
    (["--nnodes", "2"], "trainer.nnodes=2"),
    (["--tp", "4"], "actor_rollout_ref.rollout.tensor_model_parallel_size=4"),
    (["--lora_rank", "16"], "actor_rollout_ref.model.lora_rank=16"),
    (["--lora_alpha", "32"], "actor_rollout_ref.model.lora_alpha=32"),
    (["--offload"], "actor_rollout_ref.actor.fsdp_config.param_offload=true"),
    (["--save_freq", "10"], "trainer.save_freq=10"),
    (["--test_freq", "5"], "trainer.test_freq=5"),
    (["--resume"], "trainer.resume_mode=auto"),
    (["--experiment", "exp1"], "trainer.experiment_name=exp1"),
    (["--logger", "console,tensorboard"], "trainer.logger=[console,tensorboard,file]"),
    (["--rollout_n=3"], "actor_rollout_ref.rollout.n=3"),  # --flag=value form
    (["--train_files", "x.parquet"], "data.train_files=x.parquet"),  # alias of --data
    # TRL's GRPOConfig names
    (["--loss_type", "dr_grpo"], "actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-sum-norm"),
    (["--loss_type", "grpo"], "actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean"),
    (["--loss_type", "bnpo"], "actor_rollout_ref.actor.loss_agg_mode=token-mean"),
    (["--scale_rewards", "none"], "algorithm.norm_adv_by_std_in_grpo=false"),
    (["--scale_rewards", "group"], "algorithm.norm_adv_by_std_in_grpo=true"),
    (["--epsilon", "0.1"], "actor_rollout_ref.actor.clip_ratio_low=0.1"),
    (["--epsilon", "0.1"], "actor_rollout_ref.actor.clip_ratio_high=0.1"),
    (["--num_iterations", "2"], "actor_rollout_ref.actor.ppo_epochs=2"),
]


@pytest.mark.parametrize("argv,expected", CASES)
def test_flag_maps_to_hydra_key(argv, expected):
    assert expected in cli.flag_overrides(parse(argv, environ={}).values)


def test_env_vars_set_the_same_keys():
    env = {"ROLLOUT_N": "8", "LEARNING_RATE": "5e-7", "USE_KL_LOSS": "false", "NORM_ADV_BY_STD": "0",
           "TRAIN_BATCH_SIZE": "32", "TOTAL_EPOCHS": "3", "MAX_RESPONSE_LENGTH": "128", "N_GPUS": "2",
           "KL_LOSS_COEF": "0.02", "KL_LOSS_TYPE": "k3", "MODEL": "m"}
    out = cli.flag_overrides(parse([], environ=env).values)
    for expected in ["actor_rollout_ref.rollout.n=8", "actor_rollout_ref.actor.optim.lr=5e-07",
                     "actor_rollout_ref.actor.use_kl_loss=false", "algorithm.norm_adv_by_std_in_grpo=false",
                     "data.train_batch_size=32", "trainer.total_epochs=3", "data.max_response_length=128",
                     "trainer.n_gpus_per_node=2", "actor_rollout_ref.actor.kl_loss_coef=0.02",
                     "actor_rollout_ref.actor.kl_loss_type=k3", "actor_rollout_ref.model.path=m"]:
        assert expected in out


def test_flag_beats_env_and_raw_override_comes_last():
    parsed = parse(["--rollout_n", "4", "actor_rollout_ref.rollout.n=6"], environ={"ROLLOUT_N": "8"})
    assert parsed.values["rollout_n"] == 4
    assert parsed.overrides == ["actor_rollout_ref.rollout.n=6"]  # appended after flag overrides: Hydra's last wins


def test_passthrough_keeps_hydra_syntax():
    argv = ["+actor_rollout_ref.rollout.engine_kwargs.vllm.x=1", "++trainer.foo=[a,b]", "data.prompt_key='q a'"]
    assert parse(argv, environ={}).overrides == argv


def test_values_with_spaces_are_quoted_for_hydra():
    out = cli.flag_overrides(parse(["--experiment", "my run"], environ={}).values)
    assert "trainer.experiment_name='my run'" in out


def test_reward_func_with_function_name(tmp_path):
    f = tmp_path / "r.py"
    f.write_text("def my_fn(data_source, solution_str, ground_truth, extra_info=None):\n    return 1.0\n")
    out = cli.flag_overrides(parse(["--reward_func", f"{f}:my_fn"], environ={}).values)
    assert "reward.custom_reward_function.path=pkg://reward.user_functions" in out
    assert f"++reward.custom_reward_function.reward_kwargs.user_reward_functions=['{f}:my_fn']" in out
    assert not any(o.startswith("reward.reward_manager") for o in out)  # verl's own manager for verl's signature


def test_trl_reward_functions_repeat_with_weights_and_get_the_prompt_aware_manager(tmp_path):
    f = tmp_path / "r.py"
    f.write_text("def a(completions, **kw):\n    return [1.0]\n\ndef b(completions, **kw):\n    return [0.0]\n")
    parsed = parse(["--reward_func", f"{f}:a", "--reward_func", f"{f}:b", "--reward_weights", "1,0.5"], environ={})
    assert parsed.values["reward_func"] == [RewardSpec(f, "a"), RewardSpec(f, "b")]  # parsed once, into one value
    out = cli.flag_overrides(parsed.values)
    assert f"++reward.custom_reward_function.reward_kwargs.user_reward_functions=['{f}:a','{f}:b']" in out
    assert "++reward.custom_reward_function.reward_kwargs.user_reward_weights=[1.0,0.5]" in out
    assert "reward.reward_manager.name=PromptAwareRewardManager" in out


@pytest.mark.parametrize("argv,message", [
    (["--rollout"], "unknown flag '--rollout'"),  # typo
    (["--rollout_n"], "--rollout_n needs a value"),  # missing value
    (["--rollout_n", "eight"], "--rollout_n: invalid value 'eight'"),  # not a number
    (["--rollout_n", "0"], "must be at least 1"),
    (["--lr", "fast"], "--lr: invalid value 'fast'"),
    (["--kl_loss_type", "bogus"], "not one of"),
    (["--no_kl=1"], "--no_kl takes no value"),
    (["stray"], "unexpected argument 'stray'"),
])
def test_usage_errors_name_the_flag(argv, message):
    with pytest.raises(UsageError, match=message):
        parse(argv, environ={})


def test_bad_env_var_is_named():
    with pytest.raises(UsageError, match="env ROLLOUT_N"):
        parse([], environ={"ROLLOUT_N": "many"})


def test_help_lists_every_flag():
    from launcher.flags import help_text

    text = help_text()
    for flag in FLAGS:
        assert f"--{flag.name}" in text


def test_missing_files_fail_before_anything_starts(tmp_path):
    with pytest.raises(UsageError, match="--data .*nope.parquet: no such file"):
        check_files({"data": str(tmp_path / "nope.parquet")}, [])
    with pytest.raises(UsageError, match="--model ./no_model: no such directory"):
        check_files({"model": "./no_model"}, [])
    with pytest.raises(UsageError, match="--reward_func .*r.py: no such file"):
        check_files({"reward_func": [str(tmp_path / "r.py") + ":fn"]}, [])
    with pytest.raises(UsageError, match="--preset nosuch: unknown preset; known: .*drgrpo"):
        check_files({}, ["nosuch"])
    check_files({"model": "Qwen/Qwen2.5-0.5B"}, [])  # a hub id is not checked on disk


def test_experiment_name_from_non_default_settings():
    values = parse(["--rollout_n", "8", "--lr", "5e-7"], environ={}).values
    assert cli.experiment_name(values, ["drgrpo"], demo=False) == "grpo-drgrpo-rollout_n8-lr5e-07"


def test_trl_epsilon_high_wins_over_epsilon_and_what_verl_lacks_is_one_line():
    out = cli.flag_overrides(parse(["--epsilon_high", "0.28", "--epsilon", "0.2"], environ={}).values)
    highs = [o for o in out if o.startswith("actor_rollout_ref.actor.clip_ratio_high=")]
    assert highs[-1] == "actor_rollout_ref.actor.clip_ratio_high=0.28"  # Hydra's last wins
    with pytest.raises(UsageError, match="expected a value from 0 to 1"):
        parse(["--top_entropy_quantile", "2"], environ={})
    with pytest.raises(UsageError, match="is not one of grpo, bnpo, dapo, dr_grpo, cispo, sapo"):
        parse(["--loss_type", "luspo"], environ={})
    with pytest.raises(UsageError, match="verl 0.9.1 masks by its own divergence measures"):
        parse(["--vllm_importance_sampling_mode", "sequence_mask"], environ={})


@pytest.mark.parametrize("argv,expected", [
    (["--loss_type", "cispo"], ["actor_rollout_ref.actor.loss_agg_mode=token-mean",
                                "actor_rollout_ref.actor.policy_loss.loss_mode=cispo"]),
    (["--loss_type", "sapo"], ["actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean",
                               "actor_rollout_ref.actor.policy_loss.loss_mode=sapo"]),
    (["--importance_sampling_level", "sequence"], ["actor_rollout_ref.actor.policy_loss.loss_mode=gspo"]),
    (["--scale_rewards", "batch"], ["algorithm.adv_estimator=grpo_batch_std",
                                    "+ray_kwargs.ray_init.runtime_env.env_vars.GRPO_EXT_ADVANTAGE='1'"]),
    (["--vllm_importance_sampling_correction", "true", "--vllm_importance_sampling_clip_max", "2.5"],
     ["algorithm.rollout_correction.rollout_is=token", "algorithm.rollout_correction.bypass_mode=false",
      "actor_rollout_ref.rollout.calculate_log_probs=true", "algorithm.rollout_correction.rollout_is_threshold=2.5"]),
    (["--vllm_importance_sampling_mode", "sequence_truncate"], ["algorithm.rollout_correction.rollout_is=sequence"]),
])
def test_trl_grpo_options_set_verls_own_settings(argv, expected):
    out = cli.flag_overrides(parse(argv, environ={}).values)
    assert all(e in out for e in expected), out


def test_the_flag_reference_is_the_flag_table():
    """docs/flags.md is generated from FLAGS; regenerate it with `python -m launcher.flag_docs > docs/flags.md`."""
    from pathlib import Path

    from launcher.flag_docs import render

    written = (Path(__file__).resolve().parents[2] / "docs" / "flags.md").read_text()
    assert written == render(), "docs/flags.md is stale: run `python -m launcher.flag_docs > docs/flags.md`"
    for flag in FLAGS:
        assert f"`--{flag.name}`" in written, flag.name
