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
from grpo_ext.batch_step import CLIP_FIELD, STEP, with_totals
from grpo_ext.policy_loss import CURRENT, NAME as LOSS
from grpo_ext.engine import MicroBatchContext
from grpo_ext.settings import SettingsError, from_mapping
from launcher.flags import UsageError, parse
from launcher.plan import build_plan
from core.verl_internals import sample_uid

UIDS = ["a", "a", "a", "a", "b", "b"]


# ---- shared: group success rates ------------------------------------------------------------
def test_success_rates_per_group():
    assert shaping.success_rates([1, 0, 0, 0, 1, 1], UIDS, 1.0) == [0.25] * 4 + [1.0, 1.0]
    assert shaping.success_rates([0.9, 0.5], ["x", "x"], 0.8) == [0.5, 0.5]  # threshold, not the value
    assert sample_uid("3f2a-uid_0_1") == "3f2a-uid"


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


def test_the_defaults_are_written_once_in_the_extensions_yaml():
    import dataclasses

    import yaml

    from omegaconf import OmegaConf

    from core.config import compose
    from grpo_ext.settings import DEFAULTS_FILE, GrpoExtSettings

    written = yaml.safe_load(DEFAULTS_FILE.read_text())
    assert OmegaConf.to_container(compose([]).grpo_ext) == written
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(GrpoExtSettings))
    assert from_mapping(None) == from_mapping({}) == from_mapping(compose([]).grpo_ext)
    with pytest.raises(SettingsError, match="grpo_ext.dynamic_clip.lo is not an option; valid: enable, low, high"):
        from_mapping({"dynamic_clip": {"lo": 0.2}})


def test_a_preset_alone_switches_an_option_on_with_its_hooks():
    from core.config import PRESET_DIR

    preset = PRESET_DIR / f"tmp_dynamic_clip_{__import__('os').getpid()}.yaml"
    preset.write_text("# @package _global_\ngrpo_ext:\n  dynamic_clip:\n    enable: true\n")
    try:
        cfg = _plan(["--preset", preset.stem]).cfg
    finally:
        preset.unlink()
    assert cfg.actor_rollout_ref.actor.policy_loss.loss_mode == "dynamic_clip"
    assert cfg.ray_kwargs.ray_init.runtime_env.env_vars.VERL_ENGINE_VENDOR == "grpo_ext"


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


# ---- 3. curriculum by difficulty ---------------------------------------------------------------
from grpo_ext.curriculum import Curriculum, epoch_order  # noqa: E402

ACC = {0: 1.0, 1: 0.0, 2: 0.5, 3: 0.25}


def test_first_epoch_is_a_seeded_shuffle_later_ones_follow_accuracy():
    first = epoch_order(4, ACC, "easy_first", seed=3, epoch=0)
    assert sorted(first) == [0, 1, 2, 3] and first == epoch_order(4, {}, "hard_first", seed=3, epoch=0)
    assert epoch_order(4, ACC, "easy_first", 3, 1) == [0, 2, 3, 1]
    assert epoch_order(4, ACC, "hard_first", 3, 1) == [1, 3, 2, 0]
    # replay_hard: the always-solved prompt 0 gives its place to the hardest unsolved one (1)
    assert epoch_order(4, ACC, "replay_hard", 3, 1) == [2, 3, 1, 1]
    assert epoch_order(2, {0: 1.0, 1: 1.0}, "replay_hard", 3, 1) in ([0, 1], [1, 0])  # nothing to replay


def test_curriculum_counts_epochs_from_verls_positions_and_survives_a_resume():
    c = Curriculum(4, "easy_first", seed=0)
    first = [c.row(p) for p in range(4)]
    c.record(first + first, [1, 1, 0, 0, 1, 0, 0, 0])  # rows seen twice: mean success per row
    assert c.accuracy == {first[0]: 1.0, first[1]: 0.5, first[2]: 0.0, first[3]: 0.0}
    assert c.row(0) == first[0] and c.epoch == 1  # position 0 again: epoch 2 starts, easiest first
    assert c.row(1) == first[1]
    resumed = Curriculum(4, "easy_first", seed=0)
    resumed.load_state_dict(c.state_dict())
    assert [resumed.row(p) for p in (2, 3)] == [c.row(2), c.row(3)] and resumed.epoch == 1


def test_curriculum_flag_wires_verls_dataset_hook():
    cfg = _plan(["--curriculum", "replay_hard"]).cfg
    assert (cfg.data.custom_cls.path, cfg.data.custom_cls.name) == ("pkg://grpo_ext.curriculum", "CurriculumDataset")
    assert cfg.data.shuffle is False and cfg.data.dataloader_num_workers == 0
    assert cfg.data.curriculum_mode == "replay_hard"
    with pytest.raises(UsageError, match="needs data.shuffle=false"):
        _plan(["--curriculum", "easy_first", "data.shuffle=true"])
    with pytest.raises(UsageError, match=r"--curriculum: 'easy' is not one of easy_first, hard_first, replay_hard"):
        _plan(["--curriculum", "easy"])


# ---- 6. prefix-guided rollouts ------------------------------------------------------------------
from grpo_ext.policy_loss import PREFIX_SFT, SFT_COEF_ENV, prefix_mask  # noqa: E402
from grpo_ext.prefix_agent_loop import prefix_of, response_parts  # noqa: E402


def test_prefix_tokens_lead_the_response_masked_out():
    ids, mask, probs = response_parts([7, 8], [9, 10, 11], [-0.5, -0.25, -1.0], budget=4)
    assert ids == [7, 8, 9, 10] and mask == [0, 0, 1, 1] and probs == [0.0, 0.0, -0.5, -0.25]
    assert response_parts([7], [9], None, 8) == ([7, 9], [0, 1], None)
    assert prefix_of({"extra_info": {"prefix": "1"}}) == "1"
    assert prefix_of({"extra_info": {"prefix": None}}) is None and prefix_of({}) is None


def test_prefix_mask_is_the_masked_start_only():
    mask = torch.tensor([[0, 0, 1, 1, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]])
    assert prefix_mask(mask).int().tolist() == [[1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]


def test_prefix_sft_adds_the_prefix_nll_to_verls_loss(monkeypatch):
    inputs = _loss_inputs(1.0, 1.0, rows=1, tokens=4)
    inputs["log_prob"] = torch.log(torch.tensor([[0.5, 0.25, 0.5, 0.5]]))
    inputs["old_log_prob"] = inputs["log_prob"].clone()
    inputs["response_mask"] = torch.tensor([[0, 0, 1, 1]])
    plain, _ = compute_policy_loss_vanilla(**inputs)  # -A * ratio over the 2 generated tokens: -1
    monkeypatch.setenv(SFT_COEF_ENV, "0.1")
    loss, metrics = get_policy_loss_fn(PREFIX_SFT)(**inputs)
    nll = (math.log(2) + math.log(4)) / 2  # token-mean over the two prefix tokens
    assert plain.item() == pytest.approx(-1.0) and loss.item() == pytest.approx(-1.0 + 0.1 * nll)
    assert metrics["actor/prefix_tokens"] == 2
    monkeypatch.setenv(SFT_COEF_ENV, "0")
    assert get_policy_loss_fn(PREFIX_SFT)(**inputs)[0].item() == pytest.approx(plain.item())


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory, demo_model):
    import pandas as pd

    path = tmp_path_factory.mktemp("prefixed") / "train.parquet"
    rows = [{"data_source": "math_reasoning", "prompt": [{"role": "user", "content": f"{i}+1"}],
             "reward_model": {"style": "rule", "ground_truth": str(i + 1)},
             "extra_info": {"index": i, "prefix": "<answer>" if i % 2 else None}} for i in range(32)]
    pd.DataFrame(rows).to_parquet(path)
    return ["--data", str(path), "--model", demo_model, "--preset", "demo"]


def test_prefix_flags_need_prefixed_rows():
    with pytest.raises(UsageError, match=r"no training row of .* has a prefix .*--prefix-file FILE"):
        _plan(["--prefix_dropout", "0.3"])  # the demo's data has none


def test_prefix_flags_wire_the_agent_loop_and_loss(prefixed):
    from grpo_ext.launch import prefixed_rows

    assert prefixed_rows([prefixed[1]]) == 16
    cfg = _plan([*prefixed, "--prefix_dropout", "0.3", "--prefix_sft", "0.05"]).cfg
    agent = cfg.actor_rollout_ref.rollout.agent
    assert agent.default_agent_loop == "prefix_guided" and agent.agent_loop_config_path.endswith("agent_loops.yaml")
    assert cfg.actor_rollout_ref.actor.policy_loss.loss_mode == "prefix_sft"
    assert cfg.ray_kwargs.ray_init.runtime_env.env_vars[SFT_COEF_ENV] == "0.05"
    both = _plan([*prefixed, "--prefix_sft", "0.05", "--dynamic_clip", "0.1,0.3"]).cfg
    assert both.actor_rollout_ref.actor.policy_loss.loss_mode == "dynamic_clip"  # which adds the same term
    assert _plan([*prefixed, "--prefix_dropout", "0"]).cfg.actor_rollout_ref.actor.policy_loss.loss_mode == "vanilla"
