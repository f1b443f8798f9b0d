"""The grpo_ext options on hand-computed values: success rates, clip ranges, difficulty weights (and
the estimator against verl's own GRPO), length buckets, similarity weights, the reward rewrite, the
dynamic_clip loss through verl's registry and its engine hook, and the launcher's wiring and refusals."""

import math

import numpy as np
import pytest
import torch
from tensordict import TensorDict
from verl.trainer.ppo.core_algos import compute_policy_loss_vanilla, get_adv_estimator_fn, get_policy_loss_fn

from grpo_ext import shaping
from grpo_ext.advantage import NAME as ESTIMATOR
from grpo_ext.batch_step import CLIP_FIELD, STEP, uid_of, with_totals
from grpo_ext.clip_loss import CURRENT, NAME as LOSS
from grpo_ext.engine import MicroBatchContext
from grpo_ext.settings import SettingsError, from_mapping
from launcher.flags import UsageError, parse
from launcher.plan import build_plan

UIDS = ["a", "a", "a", "a", "b", "b"]


# ---- shared: group success rates ------------------------------------------------------------
def test_success_rates_per_group():
    assert shaping.success_rates([1, 0, 0, 0, 1, 1], UIDS, 1.0) == [0.25] * 4 + [1.0, 1.0]
    assert shaping.success_rates([0.9, 0.5], ["x", "x"], 0.8) == [0.5, 0.5]  # threshold, not the value
    assert uid_of("3f2a-uid_0_1") == "3f2a-uid"


# ---- 1. dynamic clipping ---------------------------------------------------------------------
def test_clip_range_from_low_for_solved_to_high_for_unsolved():
    assert shaping.clip_ranges([1.0, 0.25, 0.0], 0.1, 0.3) == pytest.approx([0.1, 0.25, 0.3])


class _Cfg(dict):
    """verl's ActorConfig fields its vanilla loss reads (clip ratios, dual clip, batch info)."""
    def __getattr__(self, name):
        return self[name]


ACTOR = _Cfg(clip_ratio=0.2, clip_ratio_low=None, clip_ratio_high=None, clip_ratio_c=3.0,
             global_batch_info={})


def _loss_inputs(ratio: float, advantage: float, rows=2, tokens=3):
    old = torch.zeros(rows, tokens)
    new = torch.full((rows, tokens), math.log(ratio))
    return dict(old_log_prob=old, log_prob=new, advantages=torch.full((rows, tokens), advantage),
                response_mask=torch.ones(rows, tokens), loss_agg_mode="token-mean", config=ACTOR)


def test_dynamic_clip_loss_clips_each_row_at_its_own_epsilon():
    # ratio 1.25, advantage +1: eps 0.1 clips at 1.1 (loss -1.1), eps 0.3 does not (-1.25)
    CURRENT.micro_batch = TensorDict({CLIP_FIELD: torch.tensor([0.1, 0.3])}, batch_size=2)
    try:
        loss, metrics = get_policy_loss_fn(LOSS)(**_loss_inputs(1.25, 1.0))
    finally:
        CURRENT.micro_batch = None
    assert loss.item() == pytest.approx((-1.1 - 1.25) / 2)
    assert metrics["actor/pg_clipfrac"] == pytest.approx(0.5)  # the first row's tokens only
    assert metrics["actor/dynamic_clip_eps_mean"] == pytest.approx(0.2)


def test_dynamic_clip_with_one_epsilon_is_verls_vanilla_loss():
    torch.manual_seed(0)
    inputs = _loss_inputs(1.0, 0.0, rows=4, tokens=5)
    inputs["log_prob"] = torch.randn(4, 5) * 0.3
    inputs["advantages"] = torch.randn(4, 1).expand(4, 5)
    CURRENT.micro_batch = TensorDict({CLIP_FIELD: torch.full((4,), 0.2)}, batch_size=4)
    try:
        ours, _ = get_policy_loss_fn(LOSS)(**inputs)
    finally:
        CURRENT.micro_batch = None
    theirs, _ = compute_policy_loss_vanilla(**inputs)
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-7)


def test_dynamic_clip_without_the_field_says_what_is_missing():
    with pytest.raises(RuntimeError, match=f"carries no '{CLIP_FIELD}'.*VERL_ENGINE_VENDOR=grpo_ext"):
        get_policy_loss_fn(LOSS)(**_loss_inputs(1.0, 1.0))


def test_engine_mixin_exposes_the_micro_batch_only_while_scoring_it():
    class Engine:  # stands in for verl's FSDP engine: its forward_step is where the loss runs
        def forward_step(self, micro_batch, loss_function, forward_only):
            return CURRENT.micro_batch

    class WithContext(MicroBatchContext, Engine):
        pass

    batch = TensorDict({CLIP_FIELD: torch.tensor([0.2])}, batch_size=1)
    assert WithContext().forward_step(batch, None, False) is batch
    assert CURRENT.micro_batch is None


# ---- 2. difficulty-aware advantage scaling ---------------------------------------------------
def test_difficulty_weights_by_hand():
    assert shaping.difficulty_weights([0.0, 0.25, 0.5, 1.0], 0.5) == pytest.approx([1.5, 1.25, 1.0, 0.5])
    assert shaping.difficulty_weights([1.0], 1.0) == [0.0]
    assert shaping.batch_rms([2.0, -2.0, 0.0, 1.0, -1.0]) == pytest.approx(math.sqrt(2.5))


def _rewards(scores, length=3):
    t = torch.zeros(len(scores), length)
    t[:, -1] = torch.tensor(scores, dtype=torch.float32)
    return t


@pytest.mark.parametrize("normalize", [False, True])
def test_difficulty_estimator_scales_verls_grpo_by_hand(normalize):
    # group a: 1 of 4 solved -> verl's GRPO gives 1.5 / -0.5 (mean .25, std .5); weight 1.25 at alpha .5
    STEP.uids, STEP.rates = UIDS, shaping.success_rates([1, 0, 0, 0, 1, 1], UIDS, 1.0)
    STEP.settings = from_mapping({"difficulty_scale": {"enable": True, "alpha": 0.5, "normalize": normalize}})
    adv, _ = get_adv_estimator_fn(ESTIMATOR)(token_level_rewards=_rewards([1, 0, 0, 0, 1, 1]),
                                             response_mask=torch.ones(6, 3), index=np.array(UIDS, dtype=object),
                                             config={"norm_adv_by_std_in_grpo": True})
    expected = [1.875, -0.625, -0.625, -0.625, 0.0, 0.0]
    if normalize:
        rms = math.sqrt((1.875 ** 2 + 3 * 0.625 ** 2) / 4)
        expected = [e / rms for e in expected]
    assert adv[:, 0].tolist() == pytest.approx(expected, abs=1e-5)


def test_difficulty_estimator_refuses_rows_it_was_not_given():
    STEP.uids, STEP.rates, STEP.settings = ["z"], [0.0], from_mapping({})
    with pytest.raises(RuntimeError, match="rows are not the ones the sampler rated"):
        get_adv_estimator_fn(ESTIMATOR)(token_level_rewards=_rewards([1, 0]), response_mask=torch.ones(2, 3),
                                        index=np.array(["a", "a"], dtype=object))


# ---- 4. length-group normalisation -----------------------------------------------------------
def test_length_buckets_by_rank_with_ties_together():
    assert shaping.length_buckets([5, 1, 3, 3, 9, 7], 2) == [1, 0, 0, 0, 1, 1]
    assert shaping.length_buckets([4, 4, 4, 4], 3) == [0, 0, 0, 0]


def test_length_normalized_by_hand():
    out = shaping.length_normalized([1, 0, 1, 0, 1, 0], [5, 1, 3, 3, 9, 7], 2, scale=False)
    assert out == pytest.approx([1 / 3, -1 / 3, 2 / 3, -1 / 3, 1 / 3, -2 / 3])
    # a reward that only tracks length has no signal left
    assert shaping.length_normalized([0, 0, 1, 1], [1, 2, 8, 9], 2, scale=True) == [0, 0, 0, 0]


# ---- 5. similarity weights -------------------------------------------------------------------
def test_similarity_weights_by_hand():
    # A and B identical, C shares no bigram: mean similarity .5, .5, 0 -> softmax(-s / .5) x 3
    w = shaping.similarity_weights([[1, 2, 3, 4], [1, 2, 3, 4], [5, 6, 7, 8]], ["g"] * 3, n=2, temperature=0.5)
    total = 2 * math.exp(-1) + 1
    assert w == pytest.approx([3 * math.exp(-1) / total, 3 * math.exp(-1) / total, 3 / total])
    assert sum(w) == pytest.approx(3)
    assert shaping.similarity_weighted([1, 1, 0], w, 0.5) == pytest.approx([0.5 + 0.5 * w[0], 0.5 + 0.5 * w[1], 0])
    assert shaping.similarity_weights([[1], [2]], ["x", "y"], 2, 0.5) == [1.0, 1.0]  # lone samples keep 1


def test_reward_rewrite_keeps_token_rewards_and_sets_the_total():
    scores = [torch.tensor([0.0, 0.2, 1.0]), torch.tensor([0.5, 0.0])]
    out = with_totals(scores, [0.5, -1.0], [3, 2])
    rows = list(out.unbind())
    assert rows[0].tolist() == pytest.approx([0.0, 0.2, 0.3]) and rows[1].tolist() == pytest.approx([0.5, -1.5])


# ---- settings, flags and wiring ---------------------------------------------------------------
@pytest.mark.parametrize("block,message", [
    ({"dynamic_clip": {"low": 0.3, "high": 0.1}}, "need 0 < low <= high < 1"),
    ({"difficulty_scale": {"alpha": 2}}, r"alpha=2.0: give a value in \[0, 1\]"),
    ({"length_norm": {"buckets": 0}}, "buckets=0: give 1 or more"),
    ({"similarity": {"temperature": 0}}, "temperature=0.0: give a positive value"),
])
def test_settings_errors_name_the_key(block, message):
    with pytest.raises(SettingsError, match=message):
        from_mapping(block)


def _plan(argv):
    return build_plan(parse([*argv, "--dry-run"], environ={}))


def test_flags_wire_verls_hooks():
    cfg = _plan(["--dynamic_clip", "0.05,0.4", "--difficulty_scale", "0.5", "--length_norm", "3",
                 "--similarity_weight", "0.25"]).cfg
    assert cfg.actor_rollout_ref.actor.policy_loss.loss_mode == "dynamic_clip"
    assert cfg.ray_kwargs.ray_init.runtime_env.env_vars.VERL_ENGINE_VENDOR == "grpo_ext"
    assert cfg.algorithm.adv_estimator == "grpo_difficulty"
    s = from_mapping(cfg.trainer.v1.sampler.sampler_kwargs.grpo_ext)  # what the sampler is handed
    assert (s.clip_low, s.clip_high, s.difficulty_alpha, s.length_buckets, s.similarity_alpha) == (0.05, 0.4, 0.5, 3, 0.25)
    plain = _plan([]).cfg
    assert plain.algorithm.adv_estimator == "grpo" and not from_mapping(plain.grpo_ext).any


def test_dynamic_clip_keeps_adagrpos_engine():
    cfg = _plan(["--preset", "adagrpo", "--dynamic_clip", "0.1,0.3"]).cfg
    assert cfg.ray_kwargs.ray_init.runtime_env.env_vars.VERL_ENGINE_VENDOR == "adagrpo"
    assert cfg.actor_rollout_ref.actor.policy_loss.loss_mode == "dynamic_clip"


@pytest.mark.parametrize("argv,message", [
    (["--dynamic_clip", "0.3,0.1"], r"--dynamic_clip: invalid value '0.3,0.1' \(expected LOW,HIGH"),
    (["--difficulty_scale", "0.5", "--preset", "adagrpo"], "both set the advantage estimator"),
    (["actor_rollout_ref.actor.policy_loss.loss_mode=dynamic_clip"], "only with --dynamic_clip LOW,HIGH"),
    (["--dynamic_clip", "0.1,0.3", "actor_rollout_ref.actor.policy_loss.loss_mode=gspo"], "drop one"),
    (["--length_norm", "4", "trainer.v1.sampler.custom_sampler.path=null"], "run in the step's sampler"),
])
def test_refusals_are_one_line(argv, message):
    with pytest.raises(UsageError, match=message):
        _plan(argv)
