"""adaGRPO's parts that need no trainer: pooled statistics, the advantage against hand-computed
values and against verl's own GRPO, the resample decisions and budgets, settings errors, and the
sampler's state across a resume."""

import json
import math

import numpy as np
import pytest
import torch
from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage, get_adv_estimator_fn

from adagrpo_ext.advantage import compute_adagrpo_outcome_advantage, pooled_advantages, publish_priors
from adagrpo_ext.group_stats import GroupStats
from adagrpo_ext.resample_plan import StepBudget, choose_trained
from adagrpo_ext.settings import AdaGRPOSettings, SettingsError, from_mapping


# ---- pooled statistics ------------------------------------------------------------------------
def test_group_stats_of_rewards():
    s = GroupStats.of([0.0, 0.0, 1.0, 1.0])
    assert (s.count, s.mean, s.m2) == (4, 0.5, 1.0)
    assert s.std == pytest.approx(math.sqrt(1 / 3))  # unbiased, like torch.std


def test_merge_equals_stats_of_all_samples():
    a, b = [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.5, 0.0]
    merged = GroupStats.of(a).merge(GroupStats.of(b))
    whole = GroupStats.of(a + b)
    assert merged.count == 9
    assert merged.mean == pytest.approx(whole.mean) == pytest.approx(np.mean(a + b))
    assert merged.std == pytest.approx(np.std(a + b, ddof=1))


def test_merge_with_empty_and_single():
    s = GroupStats.of([2.0])
    assert GroupStats().merge(s) == s and s.merge(GroupStats()) == s
    assert s.std == 0.0


# ---- the advantage ----------------------------------------------------------------------------
def _rewards(values):
    r = torch.zeros(len(values), 3)
    r[:, -1] = torch.tensor(values)
    return r


def test_without_priors_it_is_exactly_verl_grpo():
    torch.manual_seed(0)
    r = _rewards(torch.rand(14).round().tolist())
    mask = torch.ones(14, 3)
    mask[3, 2] = 0
    index = np.array(["a"] * 5 + ["b"] * 5 + ["c"] * 3 + ["d"])
    publish_priors({})
    for norm in (True, False):
        ours, _ = compute_adagrpo_outcome_advantage(r, mask, index, {"norm_adv_by_std_in_grpo": norm})
        theirs, _ = compute_grpo_outcome_advantage(r, mask, index, norm_adv_by_std_in_grpo=norm)
        assert torch.equal(ours, theirs)


def test_registered_with_verl():
    assert get_adv_estimator_fn("adagrpo") is compute_adagrpo_outcome_advantage


def test_pooled_advantage_hand_computed():
    # 4 earlier samples all failed (0), the trained group is [1, 0, 0, 0]:
    # pooled: 8 samples, mean 1/8, M2 = 7/8, std = sqrt(1/8) = 0.35355
    prior = GroupStats.of([0.0] * 4)
    scores = torch.tensor([1.0, 0.0, 0.0, 0.0])
    adv = pooled_advantages(scores, ["u"] * 4, {"u": prior}, norm_by_std=True, epsilon=0.0)
    std = math.sqrt(1 / 8)
    assert adv.tolist() == pytest.approx([(1 - 0.125) / std, -0.125 / std, -0.125 / std, -0.125 / std])
    # Dr. GRPO (no std): just the pooled mean removed
    adv = pooled_advantages(scores, ["u"] * 4, {"u": prior}, norm_by_std=False)
    assert adv.tolist() == pytest.approx([0.875, -0.125, -0.125, -0.125])


def test_pooled_advantage_differs_from_group_only():
    # Group-only GRPO gives the success 1.5 (mean 0.25, std 0.5); pooling lowers the baseline
    # and the spread, so the rare success weighs more and failures less.
    scores = torch.tensor([1.0, 0.0, 0.0, 0.0])
    alone = pooled_advantages(scores, ["u"] * 4, {}, norm_by_std=True, epsilon=0.0)
    pooled = pooled_advantages(scores, ["u"] * 4, {"u": GroupStats.of([0.0] * 4)}, norm_by_std=True, epsilon=0.0)
    assert alone[0] == pytest.approx(1.5)
    assert pooled[0] > alone[0] and abs(pooled[1]) < abs(alone[1])


def test_priors_apply_only_to_their_uid_and_mask_broadcasts():
    publish_priors({"u": GroupStats.of([0.0, 0.0])})
    r = _rewards([1.0, 0.0, 1.0, 0.0])
    mask = torch.tensor([[1, 1, 0]] * 4, dtype=torch.float32)
    adv, ret = compute_adagrpo_outcome_advantage(r, mask, np.array(["u", "u", "v", "v"]),
                                                 {"norm_adv_by_std_in_grpo": False})
    publish_priors({})
    assert adv[:, 0].tolist() == pytest.approx([0.75, -0.25, 0.5, -0.5])
    assert adv[:, 2].tolist() == [0, 0, 0, 0] and torch.equal(adv, ret)


# ---- resample decisions and budgets -----------------------------------------------------------
def _settings(**kw):
    return from_mapping(kw, rollout_n=4, train_batch_size=8)


def test_success_condition():
    s = _settings(all_correct="keep")
    assert not s.passes([0.0, 0.0, 0.0, 0.0]) and s.passes([0.0, 1.0, 0.0, 0.0])
    assert s.passes([1.0] * 4)
    assert not _settings(all_correct="resample").passes([1.0] * 4)
    assert not _settings(min_correct=2).passes([0.0, 1.0, 0.0, 0.0])
    assert _settings(success_threshold=0.5).passes([0.6, 0.0])


def test_round_schedule_grows_and_repeats_last():
    s = _settings(temperature=[1.2, 1.4], n_scale=[1.0, 2.0])
    assert s.round_params(1) == {"n": 4, "temperature": 1.2, "top_p": 1.0}
    assert s.round_params(2) == {"n": 8, "temperature": 1.4, "top_p": 1.0}
    assert s.round_params(5) == {"n": 8, "temperature": 1.4, "top_p": 1.0}
    assert _settings(n_scale=[0.5]).round_params(1)["n"] == 4  # never fewer than rollout_n


def test_budget_rounds_per_prompt_and_step():
    b = StepBudget(_settings(max_rounds=2, n_scale=[1.0]))  # step budget 8 * 4 = 32
    assert b.next_round("a", 0)["n"] == 4
    assert b.next_round("a", 1)["n"] == 4
    assert b.next_round("a", 2) is None  # max_rounds
    b = StepBudget(_settings(max_extra_samples_per_step=6, n_scale=[1.0]))
    assert b.next_round("a", 0) is not None and b.next_round("b", 0) is None and b.left == 2
    b = StepBudget(_settings(max_extra_samples_per_prompt=6, n_scale=[1.0]))
    assert b.next_round("a", 0) is not None and b.next_round("a", 1) is None
    assert b.next_round("b", 0) is not None  # per prompt, not shared
    assert StepBudget(_settings(max_rounds=0)).next_round("a", 0) is None


def test_replacements_only_when_asked_and_within_their_budget():
    assert not StepBudget(_settings(exhausted="keep")).replace()  # exhausted=keep: a failing group is trained
    b = StepBudget(_settings(exhausted="replace", max_replacements_per_step=2))
    assert [b.replace() for _ in range(3)] == [True, True, False]
    assert StepBudget(_settings(exhausted="replace")).replacements_left == 4 * 8  # null: 4 x train_batch_size
    assert not StepBudget(_settings(exhausted="replace", max_replacements_per_step=0)).replace()


def test_choose_trained_keeps_the_rare_success():
    rewards = [0.0] * 7 + [1.0]
    for seed in range(20):
        chosen = choose_trained(rewards, 4, 1.0, np.random.default_rng(seed))
        assert len(chosen) == 4 == len(set(chosen)) and 7 in chosen
    assert choose_trained([0.0] * 4, 4, 1.0, np.random.default_rng(0)) == [0, 1, 2, 3]
    all_fail = choose_trained([0.0] * 8, 4, 1.0, np.random.default_rng(0))
    assert len(set(all_fail)) == 4


def test_choose_trained_keeps_the_rare_failure():
    """The mirror case: seven successes and one failure; a subset of four must keep the failure."""
    rewards = [1.0] * 7 + [0.0]
    for seed in range(20):
        chosen = choose_trained(rewards, 4, 1.0, np.random.default_rng(seed))
        assert len(chosen) == 4 == len(set(chosen)) and 7 in chosen


# ---- settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize("options,needle", [
    ({"all_corect": "keep"}, "adagrpo.all_corect is not an option"),
    ({"all_correct": "drop"}, "adagrpo.all_correct='drop': must be one of keep, resample"),
    ({"temperature": [1.2, 0]}, "adagrpo.temperature"),
    ({"top_p": [1.5]}, "adagrpo.top_p"),
    ({"top_p": [1.0, 0.95]}, "every value must be 1.0: vLLM's log-probs include nucleus truncation"),
    ({"max_advantage": 0}, "adagrpo.max_advantage=0"),
    ({"success_key": ""}, "adagrpo.success_key"),
    ({"max_rounds": -1}, "adagrpo.max_rounds=-1"),
    ({"temperature": ["hot"]}, "not a list of numbers"),
    ({"max_extra_samples_per_step": -3}, "adagrpo.max_extra_samples_per_step=-3"),
    ({"exhausted": "drop"}, "adagrpo.exhausted='drop': must be one of keep, replace"),
    ({"max_replacements_per_step": 1.5}, "adagrpo.max_replacements_per_step=1.5"),
])
def test_settings_errors_name_the_key(options, needle):
    with pytest.raises(SettingsError, match=None) as err:
        from_mapping(options)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_the_defaults_are_written_once_in_the_extensions_yaml_and_a_preset_alone_switches_it_on():
    """adagrpo_ext/adagrpo.yaml is the composed block and what a caller leaves out; no other default."""
    import dataclasses

    import yaml

    from adagrpo_ext.settings import DEFAULTS_FILE
    from core.config import compose

    written = yaml.safe_load(DEFAULTS_FILE.read_text())
    plain = compose(["preset=[grpo]"])
    assert dict(plain.adagrpo) == written and written["enable"] is False
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(AdaGRPOSettings) if f.name in written)
    assert dataclasses.asdict(from_mapping({})) == dataclasses.asdict(from_mapping(plain.adagrpo))
    cfg = compose(["preset=[grpo,adagrpo]"])
    assert cfg.adagrpo.enable is True and cfg.algorithm.adv_estimator == "adagrpo"
    assert from_mapping(cfg.trainer.v1.sampler.sampler_kwargs.adagrpo).enable  # what the sampler is handed


# ---- state across a resume --------------------------------------------------------------------
def _sampler(checkpoint_dir, resume: bool):
    """adaGRPO's sampler as verl builds it, with nothing dispatched: for its state methods."""
    from adagrpo_ext.sampler import AdaptiveReplayBuffer

    kwargs = {"adagrpo": {"enable": True}, "rollout_n": 4, "train_batch_size": 8,
              "checkpoint_dir": str(checkpoint_dir), "resume_mode": "auto" if resume else "disable"}
    return AdaptiveReplayBuffer(trainer_mode="sync", trainer_config={}, max_off_policy_threshold=None,
                                max_off_policy_strategy="drop", sampler_kwargs=kwargs)


def test_state_saved_each_step_and_restored(tmp_path):
    first = _sampler(tmp_path, resume=False)
    for step in range(1, 6):
        first.totals["extra_samples"] += 4
        first._save_state(step)
    files = sorted(p.name for p in (tmp_path / "adagrpo_state").iterdir())
    assert files == ["global_step_3.json", "global_step_4.json", "global_step_5.json"]
    assert json.loads((tmp_path / "adagrpo_state" / "global_step_5.json").read_text())["totals"]["extra_samples"] == 20

    resumed = _sampler(tmp_path, resume=True)
    resumed._maybe_restore(global_steps=5)  # verl resumed from global_step_4
    assert resumed.totals["extra_samples"] == 16
    fresh = _sampler(tmp_path, resume=False)
    fresh._maybe_restore(global_steps=5)
    assert fresh.totals["extra_samples"] == 0


def test_state_lives_in_the_checkpoint_verl_keeps(tmp_path):
    # save_freq 2: verl writes global_step_2/ after step 2; the rolling files keep only the last three
    first = _sampler(tmp_path, resume=False)
    for step in range(1, 9):
        first.totals["extra_samples"] += 4
        first._save_state(step)
        if step % 2 == 0:
            (tmp_path / f"global_step_{step}").mkdir()  # verl's checkpoint, written after the step
    assert json.loads((tmp_path / "global_step_2" / "adagrpo_state.json").read_text())["totals"]["extra_samples"] == 8
    assert not (tmp_path / "adagrpo_state" / "global_step_2.json").exists()  # rolled away
    resumed = _sampler(tmp_path, resume=True)
    resumed._maybe_restore(global_steps=3)  # verl resumed from global_step_2
    assert resumed.totals["extra_samples"] == 8


# ---- what only works together: refused in one line before anything starts ----------------------
@pytest.mark.parametrize("argv,needle", [
    (["--preset", "adagrpo,dapo"], "adaGRPO needs its sampler, estimator and engine together"),
    (["--preset", "adagrpo,dapo", "algorithm.filter_groups.enable=false"], "give adagrpo last"),
    (["--preset", "dapo,adagrpo"], "--preset dapo with adagrpo: DAPO's dynamic sampling"),
    (["--preset", "adagrpo", "actor_rollout_ref.rollout.top_p=0.9"], "top_p=0.9 with adaGRPO"),
    (["--preset", "adagrpo", "adagrpo.top_p=[1.0,0.9]"], "every value must be 1.0"),
    (["--preset", "adagrpo", "trainer.v1.trainer_mode=colocate_async"], "runs with verl's sync trainer only"),
    (["--preset", "adagrpo", "++trainer.v1.sync.parameter_sync_step=2"], "parameter_sync_step=2"),
    (["--preset", "adagrpo", "algorithm.adv_estimator=grpo"], "its resampled groups need the adagrpo estimator"),
    (["--preset", "adagrpo", "ray_kwargs.ray_init.runtime_env.env_vars.VERL_ENGINE_VENDOR=cuda"],
     "VERL_ENGINE_VENDOR must be adagrpo"),
    (["algorithm.adv_estimator=adagrpo"], "adaGRPO needs its sampler, estimator and engine together"),
    (["--preset", "adagrpo", "adagrpo.exhausted=replace", "data.gen_batch_size=4"],
     "data.gen_batch_size=4 with adagrpo.exhausted=replace"),
])
def test_adagrpo_combinations_refused_in_one_line(tmp_path, argv, needle):
    from conftest import plan_for
    from core.errors import UsageError

    with pytest.raises(UsageError) as err:
        plan_for(*argv, out=tmp_path)
    assert needle in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_replacing_groups_fetches_one_prompt_at_a_time(tmp_path):
    """verl's refill asks whole dataloader fetches; a replaced group's prompt is one."""
    from conftest import plan_for

    plan = plan_for("--preset", "adagrpo", out=tmp_path)  # exhausted: replace is the default
    assert plan.cfg.data.gen_batch_size == 1
    assert "data.gen_batch_size=1" in plan.overrides
    kept = plan_for("--preset", "adagrpo", "adagrpo.exhausted=keep", out=tmp_path / "keep")
    assert kept.cfg.data.gen_batch_size is None
    assert plan_for("--preset", "adagrpo", "adagrpo.enable=false", out=tmp_path / "off").cfg.data.gen_batch_size is None


def test_dapo_loss_settings_with_adagrpo_compose(tmp_path):
    from conftest import plan_for

    plan = plan_for("--preset", "dapo,adagrpo", "algorithm.filter_groups.enable=false", out=tmp_path)
    assert plan.cfg.actor_rollout_ref.actor.clip_ratio_high == 0.28
    assert plan.cfg.trainer.v1.sampler.custom_sampler.name == "AdaptiveReplayBuffer"


def test_advantage_cap():
    # one success in 20 pooled draws: (1 - 0.05) / sample std 0.2236 = 4.25 uncapped
    scores = torch.tensor([1.0, 0.0, 0.0, 0.0])
    priors = {"u": GroupStats.of([0.0] * 16)}
    free = pooled_advantages(scores, ["u"] * 4, priors, norm_by_std=True)
    capped = pooled_advantages(scores, ["u"] * 4, priors, norm_by_std=True, max_advantage=2.0)
    assert free[0] == pytest.approx(0.95 / (0.05 * 0.95 * 20 / 19) ** 0.5, rel=1e-3) and free[0] > 4
    assert capped[0] == 2.0 and torch.equal(capped[1:], free[1:])


def test_unquoted_number_in_ray_env_is_one_line(tmp_path):
    from conftest import plan_for
    from core.errors import UsageError

    with pytest.raises(UsageError, match=r"Ray takes env vars as strings; quote the value: .*ADAGRPO_THINK_SCALE='1.6'"):
        plan_for("+ray_kwargs.ray_init.runtime_env.env_vars.ADAGRPO_THINK_SCALE=1.6", out=tmp_path)


def test_think_scales_need_the_processor_and_warn_without_adagrpo_engine(tmp_path):
    from conftest import plan_for
    from core.errors import UsageError
    from conftest import THINK

    assert plan_for("--preset", "adagrpo", *THINK, out=tmp_path).warnings == []
    assert "verl's stock engine" in plan_for(*THINK, out=tmp_path).warnings[0]
    with pytest.raises(UsageError, match="no think-aware processor"):
        plan_for(*THINK[1:], out=tmp_path)
