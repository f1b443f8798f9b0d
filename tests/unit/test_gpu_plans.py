"""GPU plans checked on a machine without a GPU: a fake `nvidia-smi` (scripts/fake_gpu/) reports the
GPUs, the CPU stack stays installed, and every plan users type must pass the launcher and verl's own
config validator (`verl.utils.config.validate_config`, what main_ppo runs first) with the typed
configs verl's workers build. A fake stands in for the GPUs because there are none here."""

import pytest

from conftest import REPO, recompose_differences
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
    assert recompose_differences(plan) == {}  # what verl composes from the command is what was checked
    assert plan.gpu and "cpu" not in plan.overrides[0] and "VERL_PLATFORM" not in plan.env_delta
    assert int(cfg.trainer.n_gpus_per_node) == n_gpus
    assert cfg.actor_rollout_ref.actor.strategy == "fsdp2" and cfg.actor_rollout_ref.actor.use_dynamic_bsz
    # no flash_attn in this environment: sdpa for actor and reference, padded micro-batches
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
    from core.errors import UsageError

    gpus(8)
    with pytest.raises(UsageError, match="verl's config check: .*"):
        build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                          user_data["out"], "--dry-run", "actor_rollout_ref.rollout.val_kwargs.do_sample=true",
                          "actor_rollout_ref.rollout.temperature=0"], environ={}))


def test_device_gpu_previews_a_gpu_plan_without_gpus(monkeypatch, user_data):
    from core.errors import UsageError

    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no nvidia-smi at all
    plan = build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                             user_data["out"], "--device", "gpu", "--n_gpus", "8", "--nnodes", "2", "--dry-run"],
                            environ={}))
    assert plan.gpu and int(plan.cfg.trainer.nnodes) == 2 and "cpu" not in plan.overrides[0]
    with pytest.raises(UsageError, match="--device gpu: no GPU here"):
        build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--device", "gpu"], environ={}))


@pytest.mark.parametrize("n_gpus", [0, 8])
def test_users_remove_padding_is_kept_with_sdpa(gpus, user_data, n_gpus):
    """Every verl example sets use_remove_padding=True: with sdpa (no flash-attn) it stays on, since
    transformers keeps packed sequences apart (test_attention_fallback.py), with no warning."""
    if n_gpus:
        gpus(n_gpus)
    plan = build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                             user_data["out"], "--dry-run", "actor_rollout_ref.model.use_remove_padding=True"],
                            environ={}))
    assert plan.cfg.actor_rollout_ref.model.use_remove_padding is True
    assert "actor_rollout_ref.model.use_remove_padding=false" not in plan.command
    assert not any("use_remove_padding" in w for w in plan.warnings)


@pytest.mark.parametrize("n_gpus", [0, 8])
def test_vision_language_model_without_flash_attn_is_not_packed_and_said(gpus, user_data, n_gpus, tmp_path):
    """A vision-language model's 3-D position ids are not read as packing boundaries by sdpa: packing
    is turned off (the last word on the command line) and the plan says so."""
    import json
    import shutil

    if n_gpus:
        gpus(n_gpus)
    model = tmp_path / "vlm"
    shutil.copytree(user_data["model"], model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "vision_config": {"depth": 2}}))
    plan = build_plan(parse(["--model", str(model), "--data", user_data["data"], "--output_dir",
                             user_data["out"], "--dry-run", "actor_rollout_ref.model.use_remove_padding=True"],
                            environ={}))
    assert plan.cfg.actor_rollout_ref.model.use_remove_padding is False
    assert plan.command.index("actor_rollout_ref.model.use_remove_padding=false") > \
        plan.command.index("actor_rollout_ref.model.use_remove_padding=True")  # the last word, as main_ppo reads it
    assert any("vision-language model" in w for w in plan.warnings)


def test_sequence_parallel_without_flash_attn_is_one_line(gpus, user_data):
    from core.errors import UsageError

    gpus(8)
    with pytest.raises(UsageError, match="ulysses_sequence_parallel_size=2: .*flash-attention's kernel"):
        build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                          user_data["out"], "--dry-run", "actor_rollout_ref.actor.ulysses_sequence_parallel_size=2"],
                         environ={}))


def test_users_remove_padding_stays_with_flash_attention(gpus, user_data, monkeypatch):
    gpus(8)
    monkeypatch.setattr("launcher.plan.flash_attn_works", lambda: True)
    plan = build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                             user_data["out"], "--dry-run", "actor_rollout_ref.model.use_remove_padding=True"],
                            environ={}))
    assert plan.cfg.actor_rollout_ref.model.use_remove_padding is True and not plan.warnings


def test_a_plan_of_zero_steps_never_starts(gpus, tmp_path, user_data):
    """40 rows with the default batch of 256 would plan 0 steps: verl would validate, then fail dividing
    by zero. The default batch is fitted to the data (and the plan says so); the user's own is refused."""
    import json

    from launcher.describe import plan_lines
    from core.errors import UsageError

    gpus(8)
    data = tmp_path / "small.jsonl"
    data.write_text("\n".join(json.dumps({"prompt": f"{i}+1", "ground_truth": str(i + 1)}) for i in range(40)))
    argv = ["--model", user_data["model"], "--data", str(data), "--output_dir", str(tmp_path / "o"), "--dry-run"]
    # 36 of the 40 rows train (10% validate); 36 x 5 responses do not split over 8 GPUs: 32 is the largest that does
    plan = build_plan(parse(argv, environ={}))
    assert plan.cfg.data.train_batch_size == 32 and plan.total_steps == 15  # 36 // 32 x 15 epochs
    assert "data.train_batch_size=32" in plan.command and any("256 -> 32" in line for line in plan_lines(plan))
    with pytest.raises(UsageError, match=r"--batch_size 64: the training data has 36 rows.*0 steps.*"
                                         r"use --batch_size 32 or less"):
        build_plan(parse([*argv, "--batch_size", "64"], environ={}))


@pytest.mark.parametrize("val_name", ["test.parquet", "val.parquet"])
def test_verls_preprocessor_split_validates(tmp_path, user_data, val_name):
    """verl's examples/data_preprocess scripts write train.parquet and test.parquet."""
    import shutil

    from launcher.inputs import demo_inputs

    demo = demo_inputs(REPO)
    folder = tmp_path / "gsm8k"
    folder.mkdir()
    shutil.copy(demo["data"], folder / "train.parquet")
    shutil.copy(demo["val_files"], folder / val_name)
    for given in (str(folder), str(folder / "train.parquet")):
        plan = build_plan(parse(["--model", user_data["model"], "--data", given, "--output_dir",
                                 str(tmp_path / "o"), "--dry-run"], environ={}))
        assert plan.cfg.data.val_files == str(folder / val_name)
        assert any(f"validation: {folder / val_name}" in n for n in plan.notes)


def _plan(user_data, *argv):
    return build_plan(parse(["--model", user_data["model"], "--data", user_data["data"], "--output_dir",
                             user_data["out"], "--dry-run", *argv], environ={}))


@pytest.mark.parametrize("argv,says", [
    (["model_engine=megatron"], "model_engine=megatron: megatron.core is not installed here; this stack trains with "
                                "FSDP (model_engine=dp, the default)"),
    (["actor_rollout_ref.actor.megatron.tensor_model_parallel_size=2"],
     "actor_rollout_ref.actor.megatron.tensor_model_parallel_size: Megatron is not installed here"),
    (["actor_rollout_ref.rollout.name=sglang"], "actor_rollout_ref.rollout.name=sglang: sglang is not installed here"),
    (["actor_rollout_ref.rollout.name=trtllm"], "rollout.name=trtllm: tensorrt_llm is not installed here"),
])
def test_engines_this_stack_lacks_are_one_line_before_ray(gpus, user_data, argv, says):
    from core.errors import UsageError

    gpus(8)
    with pytest.raises(UsageError) as err:
        _plan(user_data, *argv)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_lengths_fit_the_models_positions_unless_both_are_the_users(gpus, user_data):
    from core.errors import UsageError

    gpus(2)  # the demo model has 256 positions; the defaults ask for 1024 + 1024
    fitted = _plan(user_data)
    assert (fitted.cfg.data.max_prompt_length, fitted.cfg.data.max_response_length) == (128, 128)
    assert {c.key for c in fitted.changes} >= {"data.max_prompt_length", "data.max_response_length"}
    kept = _plan(user_data, "--max_prompt_length", "64")
    assert (kept.cfg.data.max_prompt_length, kept.cfg.data.max_response_length) == (64, 192)
    with pytest.raises(UsageError, match=r"--max_prompt_length 200 \+ --max_response_length 200 = 400 tokens, more "
                                         r"than the model's 256 positions"):
        _plan(user_data, "--max_prompt_length", "200", "--max_response_length", "200")


def test_a_lora_adapter_path_that_is_not_an_adapter_is_refused(gpus, user_data, tmp_path):
    from core.errors import UsageError

    gpus(2)
    with pytest.raises(UsageError, match=r"lora_adapter_path=.*nowhere: the folder does not exist"):
        _plan(user_data, f"actor_rollout_ref.model.lora_adapter_path={tmp_path / 'nowhere'}")
    with pytest.raises(UsageError, match="the folder has no adapter_config.json"):
        _plan(user_data, f"actor_rollout_ref.model.lora_adapter_path={tmp_path}")


@pytest.mark.parametrize("n_gpus", [0, 8])
def test_a_verl_other_than_the_one_our_internals_were_written_against_stops_cpu_and_gpu_plans(
        n_gpus, gpus, user_data, monkeypatch):
    from core import verl_internals
    from core.errors import UsageError

    if n_gpus:
        gpus(n_gpus)
    monkeypatch.setattr(verl_internals, "installed_verl", lambda: "0.10.0")
    with pytest.raises(UsageError, match=r"verl 0.10.0 is installed; this project relies on internals of verl 0.9.1 "
                                         r"\(core/verl_internals.py\)"):
        _plan(user_data)
    monkeypatch.setenv("GRPO_SKIP_VERSION_CHECK", "1")
    assert _plan(user_data).gpu == bool(n_gpus)
