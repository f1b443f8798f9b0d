"""The logits for the response positions only (core/response_logits.py), through verl's own
prepare_model_inputs / prepare_model_outputs on a real tiny model: the log-probs and entropies at
every position a caller reads equal verl's own path's; it steps aside where its conditions do not
hold. verl's engine is built without its FSDP set-up (what the two methods read is set by hand)."""

from types import SimpleNamespace

import pytest
import torch
from tensordict import TensorDict
from transformers import Qwen2Config, Qwen2ForCausalLM

from core.response_logits import ResponseLogits, full_length, suffix_index


def _engines(model):
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

    class Lean(ResponseLogits, FSDPEngineWithLMHead):
        pass

    out = []
    for cls in (FSDPEngineWithLMHead, Lean):
        engine = object.__new__(cls)
        engine.module, engine.pad_to_length = model, False
        engine.engine_config = SimpleNamespace(entropy_checkpointing=False)
        engine.model_config = SimpleNamespace()
        out.append(engine)
    return out


def _micro_batch(prompts, responses, **flags):
    """As verl's engine worker hands a micro-batch to the engine: nested (jagged) rows, no padding."""
    from verl.utils import tensordict_utils as tu
    from verl.utils.dataset.dataset_utils import DatasetPadMode

    def nested(rows):
        return torch.nested.as_nested_tensor([torch.tensor(r) for r in rows], layout=torch.jagged)

    seqs = [p + r for p, r in zip(prompts, responses)]
    batch = TensorDict({"input_ids": nested(seqs), "position_ids": nested([list(range(len(s))) for s in seqs]),
                        "prompts": nested(prompts), "responses": nested(responses),
                        "temperature": torch.tensor([0.7] * len(seqs))}, batch_size=len(seqs))
    tu.assign_non_tensor(batch, use_remove_padding=False, pad_mode=DatasetPadMode.NO_PADDING, calculate_entropy=True,
                         **flags)
    return batch


def _run(engine, batch):
    inputs, args = engine.prepare_model_inputs(batch)
    with torch.no_grad():
        output = engine.module(**inputs, use_cache=False)
    return inputs, engine.prepare_model_outputs(output, args, batch, None)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      attn_implementation="sdpa")
    return Qwen2ForCausalLM(cfg).eval()


def test_response_log_probs_and_entropies_equal_verls_own(model):
    from verl.workers.utils.padding import no_padding_2_padding

    prompts = [[5, 6, 7, 8, 9, 10], [11, 12, 13, 14], [15, 16, 17, 18, 19]]
    responses = [[20, 21, 22], [23, 24, 25, 26, 27, 28], [29]]
    batch = _micro_batch(prompts, responses)
    plain, lean = _engines(model)
    plain_inputs, verl_out = _run(plain, batch)
    lean_inputs, ours = _run(lean, batch)
    assert "logits_to_keep" not in plain_inputs and lean_inputs["logits_to_keep"] == 10 - 3  # from position 3
    for key in ("log_probs", "entropy"):
        want, got = no_padding_2_padding(verl_out[key], batch), no_padding_2_padding(ours[key], batch)
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-6), key
        # the full nested layout is kept: every sequence's length, zeros before the computed positions
        assert ours[key].offsets().tolist() == verl_out[key].offsets().tolist()


@pytest.mark.parametrize("flags", [{"use_fused_kernels": True}, {"distillation_only": True}])
def test_it_steps_aside_where_its_conditions_do_not_hold(model, flags):
    from verl.utils import tensordict_utils as tu

    batch = _micro_batch([[5, 6, 7, 8]], [[9, 10]])
    tu.assign_non_tensor(batch, **flags)
    _plain, lean = _engines(model)
    from core.response_logits import first_response_position

    assert first_response_position(batch, lean.module) is None
    packed = _micro_batch([[5, 6, 7, 8]], [[9, 10]])
    tu.assign_non_tensor(packed, use_remove_padding=True)
    assert first_response_position(packed, lean.module) is None


def test_suffix_index_and_full_length():
    offsets = torch.tensor([0, 5, 8, 14])
    index, suffix_offsets = suffix_index(offsets, 2)
    assert index.tolist() == [2, 3, 4, 7, 10, 11, 12, 13] and suffix_offsets.tolist() == [0, 3, 4, 8]
    suffix = torch.nested.nested_tensor_from_jagged(torch.arange(1.0, 9.0), suffix_offsets)
    full = full_length(suffix, offsets, index)
    assert [r.tolist() for r in full.unbind()] == [[0, 0, 1, 2, 3], [0, 0, 4], [0, 0, 5, 6, 7, 8]]


def test_a_lora_model_gets_the_response_logits_too(model):
    """PEFT's wrapper takes **kwargs and passes logits_to_keep on to the model it wraps."""
    import copy

    from peft import LoraConfig, get_peft_model
    from verl.workers.utils.padding import no_padding_2_padding

    lora = get_peft_model(copy.deepcopy(model), LoraConfig(r=4, lora_alpha=8, target_modules="all-linear")).eval()
    batch = _micro_batch([[5, 6, 7, 8, 9], [11, 12, 13]], [[20, 21], [23, 24, 25, 26]])
    plain, lean = _engines(lora)
    _, want = _run(plain, batch)
    inputs, got = _run(lean, batch)
    assert inputs["logits_to_keep"] == 7 - 2  # both rows 7 long; from the shorter prompt's last position
    assert torch.allclose(no_padding_2_padding(got["log_probs"], batch), no_padding_2_padding(want["log_probs"], batch),
                          atol=1e-6)


def test_adagrpos_engine_scores_the_response_positions_alike(model, monkeypatch):
    """adaGRPO's engine divides the logits by each sample's temperature and, with the think-aware
    processor, by each token's think/answer scale (a hook on the model's output): with the response
    positions' logits only, the scales are cut to the same positions and the log-probs stay verl's."""
    from verl.workers.utils.padding import no_padding_2_padding

    import core.response_logits as response_logits
    from adagrpo_ext.agent_loop import TEMPERATURE_FIELD
    from adagrpo_ext.temperature_engine import PerSampleTemperatureEngine

    monkeypatch.setenv("ADAGRPO_THINK_SCALE", "1.5")
    monkeypatch.setenv("ADAGRPO_ANSWER_SCALE", "0.8")
    monkeypatch.setenv("ADAGRPO_THINK_END", "</think>")
    engine = object.__new__(PerSampleTemperatureEngine)
    engine.module, engine.pad_to_length = model, False
    engine.engine_config = SimpleNamespace(entropy_checkpointing=False)
    engine.model_config = SimpleNamespace(tokenizer=SimpleNamespace(encode=lambda text, add_special_tokens: [22]))
    prompts = [[5, 6, 7, 8, 9, 10], [11, 12, 13, 14], [15, 16, 17, 18, 19]]
    responses = [[20, 21, 22, 30, 31], [23, 22, 25, 26, 27, 28], [29]]  # 22 ends the thinking

    def scored(batch):
        batch[TEMPERATURE_FIELD] = torch.tensor([0.7, 1.2, 1.5])
        inputs, out = _run(engine, batch)
        return inputs, no_padding_2_padding(out["log_probs"], batch)

    cut_inputs, cut = scored(_micro_batch(prompts, responses))
    monkeypatch.setattr(response_logits, "first_response_position", lambda micro_batch, module: None)
    full_inputs, full = scored(_micro_batch(prompts, responses))
    assert cut_inputs["logits_to_keep"] == 11 - 3 and "logits_to_keep" not in full_inputs
    assert torch.allclose(cut, full, atol=1e-6)
    monkeypatch.setenv("ADAGRPO_THINK_SCALE", "1.0")
    monkeypatch.setenv("ADAGRPO_ANSWER_SCALE", "1.0")
    _, unscaled = scored(_micro_batch(prompts, responses))
    assert not torch.allclose(unscaled, full, atol=1e-3)  # the scales were applied: the test sees them
