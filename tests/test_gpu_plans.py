"""GPU plans checked on a machine without a GPU: a fake `nvidia-smi` (scripts/fake_gpu/) reports the
GPUs, the CPU stack stays installed, and every plan users type must pass the launcher and verl's own
config validator (`verl.utils.config.validate_config`, what main_ppo runs first) with the typed
configs verl's workers build. A fake stands in for the GPUs because there are none here."""

import pytest

from conftest import REPO
from launcher.flags import parse
from launcher.plan import build_plan

FAKE_GPU_BIN = REPO / "scripts" / "fake_gpu"


@pytest.fixture(scope="module")
def user_data(tmp_path_factory):
    """A user's run, not the demo: the demo model's folder as --model, 600 rows of JSONL data."""
    import json

    from launcher.inputs import demo_inputs

    folder = tmp_path_factory.mktemp("gpu_plan")
    rows = [{"prompt": f"{a}+{b}", "ground_truth": str(a + b)} for a in range(30) for b in range(20)]
    data = folder / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows))
    return {"model": demo_inputs(REPO)["model"], "data": str(data), "out": str(folder / "out")}


@pytest.fixture
def gpus(monkeypatch):
    def set_gpus(n: int):
        monkeypatch.setenv("PATH", f"{FAKE_GPU_BIN}:{__import__('os').environ['PATH']}")
        monkeypatch.setenv("FAKE_GPUS", str(n))
    return set_gpus


PLANS = [
    (1, []), (2, []), (4, []), (8, []),
    (2, ["--tp", "2"]), (4, ["--tp", "4"]), (8, ["--tp", "2"]), (8, ["--tp", "4"]),
    (8, ["--nnodes", "2"]), (8, ["--nnodes", "2", "--tp", "4"]),
    (8, ["--preset", "drgrpo"]), (8, ["--preset", "dapo"]), (8, ["--preset", "adagrpo"]),
    (8, ["--preset", "lora"]), (8, ["--preset", "lowmem"]), (4, ["--preset", "drgrpo,adagrpo"]),
    (8, ["--preset", "dapo,lowmem"]), (8, ["--preset", "lora,drgrpo", "--tp", "2"]),
    (8, ["--preset", "lowmem,lora", "--nnodes", "2"]), (2, ["--preset", "quality,gsm8k"]),
    (8, ["--rollout_n", "8", "--batch_size", "128", "--preset", "math"]),
]


@pytest.mark.parametrize("n_gpus,argv", PLANS, ids=[f"{n}gpu{'_' + '_'.join(a) if a else ''}" for n, a in PLANS])
def test_gpu_plan_passes_verl_validation(n_gpus, argv, gpus, user_data):
    gpus(n_gpus)
    plan = build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                             user_data["out"], "--dry-run", *argv], environ={}))
    cfg = plan.cfg
    assert plan.gpu and "cpu" not in plan.overrides[0] and "VERL_PLATFORM" not in plan.env_delta
    assert int(cfg.trainer.n_gpus_per_node) == n_gpus
    assert cfg.actor_rollout_ref.actor.strategy == "fsdp2" and cfg.actor_rollout_ref.actor.use_dynamic_bsz
    # no flash_attn in this environment: sdpa for actor and reference, and no sequence packing
    assert cfg.actor_rollout_ref.model.override_config.attn_implementation == "sdpa"
    assert cfg.actor_rollout_ref.model.use_remove_padding is False
    budget = 3 * (int(cfg.data.max_prompt_length) + int(cfg.data.max_response_length))
    assert int(cfg.actor_rollout_ref.actor.ppo_max_token_len_per_gpu) == max(16384, budget)


def test_flash_attention_kept_where_it_imports(gpus, user_data, monkeypatch):
    gpus(8)
    monkeypatch.setattr("launcher.plan.flash_attn_works", lambda: True)
    cfg = build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                            user_data["out"], "--dry-run"], environ={})).cfg
    assert "attn_implementation" not in cfg.actor_rollout_ref.model.override_config
    assert cfg.actor_rollout_ref.model.use_remove_padding is True


def test_users_attention_choice_is_kept(gpus, user_data):
    gpus(2)
    cfg = build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                            user_data["out"], "--dry-run",
                            "+actor_rollout_ref.model.override_config.attn_implementation=eager"], environ={})).cfg
    assert cfg.actor_rollout_ref.model.override_config.attn_implementation == "eager"


def test_verl_validator_refusal_is_one_line(gpus, user_data):
    from launcher.flags import UsageError

    gpus(8)
    with pytest.raises(UsageError, match="verl's config check: .*"):
        build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                          user_data["out"], "--dry-run", "actor_rollout_ref.rollout.val_kwargs.do_sample=true",
                          "actor_rollout_ref.rollout.temperature=0"], environ={}))


def test_device_gpu_previews_a_gpu_plan_without_gpus(monkeypatch, user_data):
    from launcher.flags import UsageError

    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no nvidia-smi at all
    plan = build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                             user_data["out"], "--device", "gpu", "--n_gpus", "8", "--nnodes", "2", "--dry-run"],
                            environ={}))
    assert plan.gpu and int(plan.cfg.trainer.nnodes) == 2 and "cpu" not in plan.overrides[0]
    with pytest.raises(UsageError, match="--device gpu: no GPU here"):
        build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--device", "gpu"], environ={}))
