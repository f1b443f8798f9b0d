"""The plan keeps each decision twice: applied to the config the launcher checks (and writes to
run_dir/config.yaml, which eval/export read) and appended as an override for verl's own
composition. Both must say the same: verl's config, composed from the command's overrides, equals
the checked one, key by key, for CPU plans of the presets users pick (GPU plans: test_gpu_plans.py)."""

import pytest

from conftest import plan_for, recompose_differences

PRESETS = [[], ["--preset", "smollm2"], ["--preset", "adagrpo"], ["--preset", "lora"], ["--preset", "dapo"],
           ["--preset", "dynamic_sampling"], ["--preset", "drgrpo,lowmem"],
           ["--dynamic_clip", "0.2,0.3", "--top_entropy_quantile", "0.2", "--scale_rewards", "batch"]]


@pytest.mark.parametrize("argv", PRESETS, ids=["_".join(a) or "default" for a in PRESETS])
def test_verl_composes_what_the_launcher_checked(argv):
    assert recompose_differences(plan_for(*argv)) == {}


def test_a_difference_is_found(monkeypatch):
    plan = plan_for()
    plan.overrides.append("trainer.save_freq=7")  # a decision made one way only
    assert recompose_differences(plan)["trainer.save_freq"] == (int(plan.cfg.trainer.save_freq), 7)


def test_a_chosen_value_is_quoted_as_hydra_reads_it():
    from core.config import compose
    from launcher.hardware import Change

    change = Change("trainer.resume_from_path", None, "/runs/my run/global_step_2")
    assert change.override == "++trainer.resume_from_path='/runs/my run/global_step_2'"
    assert compose([change.override]).trainer.resume_from_path == "/runs/my run/global_step_2"
