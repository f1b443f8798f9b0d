"""Why remove-padding (sequence packing) stays on without flash-attention.

verl's unpadded forward (FSDPEngineWithLMHead.prepare_model_inputs, use_remove_padding) packs a
micro-batch's sequences back to back into one row: position ids restarting at each sequence, no
attention mask, use_cache=False. transformers (masking_utils: `find_packed_sequence_indices`, used
when there is no mask and no cache) reads the restarts as boundaries and builds a block-causal mask,
so sdpa and eager give each packed sequence the logits it gets alone. With a cache it does not:
the sequences attend to each other. These tests fail if either changes; then launcher/plan.py's
_attention and configs/preset/cpu.yaml must turn packing off again without flash-attention."""

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def _model_and_sequences(attention: str):
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=100, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      attn_implementation=attention)
    model = Qwen2ForCausalLM(cfg).eval()
    return model, [torch.randint(0, 100, (n,)) for n in (7, 12, 1, 9)]


def _packed(model, seqs, use_cache):
    """verl's packed row: one sequence after another, positions restarting, no attention mask."""
    ids = torch.cat(seqs)[None]
    pos = torch.cat([torch.arange(len(s)) for s in seqs])[None]
    logits = model(input_ids=ids, attention_mask=None, position_ids=pos, use_cache=use_cache).logits[0]
    return torch.split(logits, [len(s) for s in seqs])


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@torch.no_grad()
def test_packed_sequences_get_the_logits_they_get_alone(attention):
    model, seqs = _model_and_sequences(attention)
    for seq, packed in zip(seqs, _packed(model, seqs, use_cache=False)):
        alone = model(input_ids=seq[None], use_cache=False).logits[0]
        assert torch.allclose(packed, alone, atol=1e-5)


@torch.no_grad()
def test_with_a_cache_packed_sequences_attend_to_each_other():
    """The condition verl meets (use_cache=False) is the one that matters: with the cache on,
    transformers does not look for packing, and every sequence after the first sees the others."""
    model, seqs = _model_and_sequences("sdpa")
    packed = _packed(model, seqs, use_cache=True)
    leak = max((packed[i] - model(input_ids=seqs[i][None], use_cache=False).logits[0]).abs().max().item()
               for i in (1, 3))
    assert leak > 0.05


def test_verl_packs_without_a_mask_and_without_a_cache():
    """The two conditions above, as verl's engine meets them (its source, read): no attention mask
    in the packed inputs, use_cache=False in the forward."""
    import inspect

    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

    inputs = inspect.getsource(FSDPEngineWithLMHead.prepare_model_inputs)
    assert '"attention_mask": None' in inputs and "position_ids_rmpad" in inputs
    assert "use_cache=False" in inspect.getsource(FSDPEngineWithLMHead.forward_step)
