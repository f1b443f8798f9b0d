"""eval.sh / export.sh / chat.sh without a model run: what MODEL means, bad input in one line,
LoRA checkpoints as verl's model merger writes them, the model card."""

import json
import subprocess
import sys

import pytest

from conftest import REPO
from core.errors import UsageError
from model_tools.source import resolve


def _checkpoint(run, step):
    actor = run / "checkpoints" / f"global_step_{step}" / "actor"
    actor.mkdir(parents=True)
    (actor / "model_world_size_1_rank_0.pt").write_bytes(b"")
    return actor


@pytest.fixture
def run(tmp_path):
    run = tmp_path / "proj" / "exp"
    for step in (20, 40):
        _checkpoint(run, step)
    (run / "checkpoints" / "latest_checkpointed_iteration.txt").write_text("40")
    (run / "config.yaml").write_text("data: {}\n")
    return run


def test_run_folder_means_its_latest_checkpoint_or_the_step_asked(run):
    assert resolve(str(run)).step == 40
    assert resolve(str(run), 20).actor_dir == run / "checkpoints" / "global_step_20" / "actor"
    assert resolve(str(run / "checkpoints")).step == 40
    with pytest.raises(UsageError, match=r"--step 30: .* has checkpoints for step\(s\) 20, 40"):
        resolve(str(run), 30)


def test_checkpoint_folders(run):
    ckpt = run / "checkpoints" / "global_step_20"
    for given in (ckpt, ckpt / "actor"):
        source = resolve(str(given))
        assert (source.step, source.run_dir) == (20, run)
        assert source.merged_dir == ckpt / "hf_merged"  # removed with the checkpoint by verl's retention
    with pytest.raises(UsageError, match="--step 40: .* is the checkpoint of step 20"):
        resolve(str(ckpt), 40)


def test_hf_folder_and_hub_id(tmp_path, demo_model):
    assert resolve(demo_model).hf_path.endswith("model") and not resolve(demo_model).is_checkpoint
    assert resolve("Qwen/Qwen2.5-0.5B-Instruct").hf_path == "Qwen/Qwen2.5-0.5B-Instruct"
    with pytest.raises(UsageError, match="is a hub id"):
        resolve("Qwen/Qwen2.5-0.5B", 10)


@pytest.mark.parametrize("make,message", [
    (lambda p: p, "no such folder, and not a hub id"),
    (lambda p: (p.mkdir(), p)[1], "not a run folder .* a checkpoint .* or a Hugging Face model folder"),
    (lambda p: (p.write_text("x"), p)[1], "a file; give a run folder"),
    (lambda p: (_checkpoint(p, 1).parent.parent.parent.joinpath("x").mkdir(), p / "checkpoints")[1], None),
])
def test_unknown_models_get_one_line(tmp_path, make, message):
    given = make(tmp_path / "thing")
    if message is None:  # a run folder with checkpoints/ but not a complete one: fine, step 1
        assert resolve(str(given)).step == 1
        return
    with pytest.raises(UsageError, match=message):
        resolve(str(given))


def test_run_without_checkpoint(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    with pytest.raises(UsageError, match="no checkpoint yet"):
        resolve(str(tmp_path))


def _cli(script, *args):
    return subprocess.run([str(REPO / script), *args], capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**__import__("os").environ, "GRPO_PYTHON": sys.executable})


@pytest.mark.parametrize("script", ["eval.sh", "export.sh", "chat.sh"])
def test_cli_errors_are_one_line(tmp_path, script):
    proc = _cli(script, str(tmp_path / "missing"))
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "no such folder" in proc.stderr


def test_eval_data_errors(tmp_path, demo_model):
    import pandas as pd

    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"question": ["1+1"], "answer": ["2"]}).to_parquet(bad)
    notparquet = tmp_path / "x.parquet"
    notparquet.write_text("hello")
    for path, message in [(bad, "no column prompt, data_source, reward_model"),
                          (notparquet, "not a readable parquet file"), (tmp_path / "none.parquet", "no such file")]:
        proc = _cli("eval.sh", demo_model, "--data", str(path))
        assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_export_refuses_a_model_that_is_not_a_checkpoint(demo_model):
    proc = _cli("export.sh", demo_model)
    assert proc.returncode == 2 and "already a Hugging Face model" in proc.stderr


@pytest.fixture
def lora_merged(tmp_path, demo_model):
    """A LoRA run's checkpoint after verl's model merger: base weights + lora_adapter/, written by
    verl's own BaseModelMerger.save_hf_model_and_tokenizer from a PEFT model's state dict."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    from verl.model_merger.base_model_merger import BaseModelMerger, ModelMergerConfig

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(demo_model, dtype=torch.float32)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:
            param.data.normal_(0, 0.5)  # PEFT starts B at zero: make the adapter change something
    state = {k: v.to(torch.bfloat16).clone() for k, v in peft_model.state_dict().items()}

    class Merger(BaseModelMerger):
        def merge_and_save(self): ...
        def cleanup(self): ...

    target = tmp_path / "hf_merged"
    actor = tmp_path / "actor"
    actor.mkdir()
    (actor / "lora_train_meta.json").write_text(json.dumps({"r": 4, "lora_alpha": 8, "task_type": "CAUSAL_LM"}))
    Merger(ModelMergerConfig("merge", "fsdp", target_dir=str(target), hf_model_config_path=demo_model,
                             local_dir=str(actor))).save_hf_model_and_tokenizer(state)
    peft_model = peft_model.to(torch.bfloat16).eval()
    return target, peft_model


def test_lora_merged_and_adapter_outputs_match_the_trained_model(tmp_path, lora_merged, demo_model):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from model_tools import merge as M

    merged, trained = lora_merged
    assert M.is_lora(merged)
    ids = torch.tensor([[1, 5, 9, 12, 7]])
    with torch.no_grad():
        want = trained(input_ids=ids).logits
        M.write_merged_lora(merged, tmp_path / "full")
        full = AutoModelForCausalLM.from_pretrained(tmp_path / "full", dtype=torch.bfloat16)(input_ids=ids).logits
        M.write_adapter(merged, tmp_path / "adapter", demo_model)
        base = AutoModelForCausalLM.from_pretrained(demo_model, dtype=torch.bfloat16)
        adapter = PeftModel.from_pretrained(base, tmp_path / "adapter")(input_ids=ids).logits
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"] == demo_model
    # bf16 logits of magnitude ~3 (a unit in the last place: 0.016); the adapter moves them by ~9
    assert (full - want).abs().max() < 0.1 and (adapter - want).abs().max() < 0.1
    base_only = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.bfloat16)(input_ids=ids).logits
    assert (base_only - want).abs().max() > 1.0  # the adapter matters: leaving it out would show


def test_model_card_names_base_data_steps_accuracy_and_command(tmp_path):
    from model_tools.model_card import card

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("actor_rollout_ref: {model: {path: Qwen/Qwen2.5-0.5B}, rollout: {n: 8}}\n"
                                     "data: {train_files: [a.parquet], val_files: b.parquet}\n")
    records = [{"step": 0, "data": {"val-core/gsm8k/acc/mean@1": 0.3}},
               {"step": 1, "data": {"timing_s/step": 1.0}},
               {"step": 2, "data": {"timing_s/step": 1.0, "val-core/gsm8k/acc/mean@1": 0.55}}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (run / "train_command.sh").write_text("./train.sh --model Qwen/Qwen2.5-0.5B --data a.parquet\n")
    text = card(run, 2, "full")
    for part in ("base_model: Qwen/Qwen2.5-0.5B", "`a.parquet`", "`b.parquet`", "step | 2 of 2 trained |",
                 "55.0% at step 2", "./train.sh --model Qwen/Qwen2.5-0.5B --data a.parquet", "| 8 |"):
        assert part in text, part


def test_data_parallel_generation_shards_and_reassembles(monkeypatch):
    """--n_gpus 4 --tp 2: two engines, each with its own pair of GPUs and every other prompt, and the
    answers back in prompt order. Engines stand in for vLLM here (no GPUs on this machine)."""
    from model_tools import generate as G

    seen = []

    def fake_replica(args):
        engine, devices, prompts, samplings, progress = args
        seen.append((devices, [p[0] for p in prompts]))
        return [[[{"text": f"{p[0]}@{devices}", "token_ids": p}] for p in prompts] for _ in samplings]

    class InlinePool:  # the spawned processes, in this one
        def __init__(self, *a, **k): ...
        def __enter__(self): return self
        def __exit__(self, *a): return False
        def map(self, fn, jobs): return [fn(j) for j in jobs]

    monkeypatch.setattr(G, "_replica", fake_replica)
    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", InlinePool)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    engine = G.Engine("m", n_gpus=4, tp=2)
    out = G.generate(engine, [[i] for i in range(5)], [G.Sampling(1, 0.0, 1.0, 8), G.Sampling(2, 1.0, 1.0, 8)])
    assert sorted(seen) == [("0,1", [0, 2, 4]), ("2,3", [1, 3])]
    assert [r[0]["text"] for r in out[0]] == ["0@0,1", "1@2,3", "2@0,1", "3@2,3", "4@0,1"]
    assert len(out) == 2


def test_push_without_the_hub_is_one_line_and_keeps_the_folder(tmp_path, monkeypatch, capsys):
    from model_tools import export as E

    folder = tmp_path / "out"

    def fake_export_body(args):  # the folder is written; only the upload is under test
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        from huggingface_hub import HfApi

        HfApi().create_repo(args.push, exist_ok=True)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(E, "export", fake_export_body)
    code = E.main(["run", "--out", str(folder), "--push", "me/model"])
    err = capsys.readouterr().err
    assert code == 1 and (folder / "config.json").is_file()
    assert err.startswith("export.sh: error: --push me/model:") and err.count("\n") == 1 and str(folder) in err
