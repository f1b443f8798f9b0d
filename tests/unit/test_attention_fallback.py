"""Why a GPU run without flash_attn turns remove-padding off (launcher/plan.py `_attention`).

verl's unpadded path packs a micro-batch's sequences back to back into one row and relies on the
attention kernel to keep them apart. Its pad/unpad helpers have pure-torch fallbacks, but sdpa
attends across the packed sequences: every sequence after the first gets other logits than it
gets alone. If a transformers release makes sdpa respect the boundaries, the second test fails:
then remove-padding could stay on without flash-attention."""

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from verl.utils.attention_utils import index_first_axis, pad_input, rearrange, unpad_input


def _model_and_batch():
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=100, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      attn_implementation="sdpa")
    model = Qwen2ForCausalLM(cfg).eval()
    ids = torch.randint(0, 100, (3, 12))
    mask = torch.ones(3, 12, dtype=torch.long)
    mask[0, :4] = 0  # left-padded prompt
    mask[1, 9:] = 0  # right-padded response
    return model, ids, mask


def _alone(model, ids, mask, b):
    return model(input_ids=ids[b][mask[b].bool()][None]).logits[0]


@torch.no_grad()
def test_padded_sdpa_matches_each_sequence_alone():
    model, ids, mask = _model_and_batch()
    pos = (torch.cumsum(mask, -1) - 1).clamp(min=0)
    padded = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits
    for b in range(3):
        assert torch.allclose(padded[b][mask[b].bool()], _alone(model, ids, mask, b), atol=1e-5)


@torch.no_grad()
def test_packed_sdpa_attends_across_sequences():
    """verl's remove-padding forward (dp_actor `_forward_micro_batch`): unpad, one packed row,
    attention_mask=None, position ids restarting per sequence."""
    model, ids, mask = _model_and_batch()
    pos = (torch.cumsum(mask, -1) - 1).clamp(min=0)
    ids_rmpad, indices, *_ = unpad_input(ids.unsqueeze(-1), mask)
    pos_rmpad = index_first_axis(rearrange(pos.unsqueeze(-1), "b s ... -> (b s) ..."), indices).transpose(0, 1)
    packed = model(input_ids=ids_rmpad.transpose(0, 1), attention_mask=None, position_ids=pos_rmpad).logits
    unpacked = pad_input(packed.squeeze(0), indices, 3, 12)
    first = unpacked[0][mask[0].bool()]
    assert torch.allclose(first, _alone(model, ids, mask, 0), atol=1e-5)  # nothing before it to leak from
    leak = max((unpacked[b][mask[b].bool()] - _alone(model, ids, mask, b)).abs().max().item() for b in (1, 2))
    assert leak > 0.05, "sdpa now keeps packed sequences apart: remove-padding could stay on without flash_attn"
