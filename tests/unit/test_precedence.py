"""Precedence through the plan (env var < flag < raw override of the same key) and each of the
launcher's divisibility rules, each with the number to change."""

import pytest

from conftest import plan_for
from launcher.flags import UsageError, parse
from launcher.plan import build_plan


def _plan(argv, env):
    return build_plan(parse([*argv, "--dry-run"], environ=env))


def test_raw_override_beats_flag_beats_env_var():
    assert _plan(["--rollout_n", "4", "actor_rollout_ref.rollout.n=6"], {"ROLLOUT_N": "8"}).cfg.actor_rollout_ref.rollout.n == 6
    assert _plan(["actor_rollout_ref.rollout.n=6", "--rollout_n", "4"], {}).cfg.actor_rollout_ref.rollout.n == 6
    assert _plan(["--rollout_n", "4"], {"ROLLOUT_N": "8"}).cfg.actor_rollout_ref.rollout.n == 4
    assert _plan([], {"ROLLOUT_N": "8"}).cfg.actor_rollout_ref.rollout.n == 8
    assert _plan(["--lr", "3e-5"], {}).cfg.actor_rollout_ref.actor.optim.lr == 3e-5  # a flag beats a preset (demo's)


@pytest.mark.parametrize("argv,message", [
    (["--n_gpus", "4", "--tp", "3"], "--tp 3 must divide the number of GPUs (4)"),
    (["--batch_size", "16", "actor_rollout_ref.actor.ppo_mini_batch_size=32"], "ppo_mini_batch_size=32 exceeds"),
    (["--batch_size", "24", "actor_rollout_ref.actor.ppo_mini_batch_size=16"],
     "--batch_size 24 must be a multiple of actor_rollout_ref.actor.ppo_mini_batch_size=16"),
    (["--n_gpus", "3", "--batch_size", "12", "--rollout_n", "2", "actor_rollout_ref.actor.ppo_mini_batch_size=4"],
     "ppo_mini_batch_size x --rollout_n = 8 responses must split evenly over 3 GPUs"),
    (["--n_gpus", "3", "--batch_size", "16", "--rollout_n", "2", "actor_rollout_ref.actor.ppo_mini_batch_size=16"],
     "ppo_mini_batch_size x --rollout_n = 32 responses must split evenly over 3 GPUs"),
])
def test_each_divisibility_rule(argv, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_for(*argv)
