"""Logits for the response positions only, in verl's padded forward (no sequence packing).

verl's padded path asks the model for logits at every position of every sequence, then copies them
for the temperature, to un-pad them and to take log-softmax (and the same again in the backward),
though only the positions before each response token are ever read: on SmolLM2 with a 50-token
prompt and ~12-token replies, four positions in five. Here the engine asks the model for logits from
the micro-batch's first response position on (transformers' `logits_to_keep`), hands verl's own
`prepare_model_outputs` the sequences' suffixes from that position (so verl computes everything it
computes, on the smaller tensor), and gives the log-probs and entropies back their full length, with
zeros at the prompt positions no caller reads (verl takes a sequence's response values from its last
`response_length + 1` positions: verl/workers/utils/padding.py no_padding_2_padding).

It steps aside, leaving verl's path as it is, whenever its conditions do not hold: packing
(use_remove_padding), fused kernels, distillation, Σπ², or a model whose forward takes no
`logits_to_keep`. What it relies on of verl (core/verl_internals.py) is checked by
tests/unit/test_verl_internals_contract.py; the log-probs it gives are checked against the rollout's
in every e2e run (PPO's mean log-ratio before any update of a step: ~1e-6).

Part of every run's engine (core/engine.py; grpo_ext's engine includes it too).
"""

import inspect

import torch

FIRST_KEY = "response_logits_from"  # in output_args: the first position whose logits were computed


def _flag(micro_batch, key: str, default):
    from verl.utils import tensordict_utils as tu

    return tu.get_non_tensor_data(data=micro_batch, key=key, default=default)


def _takes_logits_to_keep(module) -> bool:
    model = getattr(module, "module", module)  # under FSDP1 the model is wrapped
    if hasattr(model, "get_base_model"):  # LoRA: PEFT passes the keyword on to the model it wraps
        model = model.get_base_model()
    try:
        return "logits_to_keep" in inspect.signature(type(model).forward).parameters
    except (TypeError, ValueError):
        return False


def first_response_position(micro_batch, module) -> int | None:
    """The earliest position whose logits any response token needs (the shortest prompt's last
    position), or None when this micro-batch takes verl's own path."""
    from verl.utils.dataset.dataset_utils import DatasetPadMode

    if (_flag(micro_batch, "use_remove_padding", True) or _flag(micro_batch, "use_fused_kernels", False)
            or _flag(micro_batch, "distillation_use_topk", False) or _flag(micro_batch, "distillation_only", False)
            or _flag(micro_batch, "calculate_sum_pi_squared", False)
            or _flag(micro_batch, "pad_mode", DatasetPadMode.NO_PADDING) != DatasetPadMode.NO_PADDING):
        return None
    keys = micro_batch.keys()
    if "prompts" not in keys or "input_ids" not in keys:
        return None
    prompts, input_ids = micro_batch["prompts"], micro_batch["input_ids"]
    if not (getattr(prompts, "is_nested", False) and getattr(input_ids, "is_nested", False)):
        return None
    first = int(prompts.offsets().diff().min()) - 1
    if first < 1 or not _takes_logits_to_keep(module):
        return None
    return first


def suffix_index(offsets: torch.Tensor, first: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each sequence's positions from `first` on sit in the flat values, and the suffixes'
    offsets."""
    lengths = offsets.diff() - first
    starts = torch.repeat_interleave(offsets[:-1] + first, lengths)
    suffix_offsets = torch.nn.functional.pad(lengths.cumsum(0), (1, 0))
    within = torch.arange(int(lengths.sum()), device=offsets.device) - torch.repeat_interleave(suffix_offsets[:-1],
                                                                                               lengths)
    return starts + within, suffix_offsets


def _jagged(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    lengths = offsets.diff()
    return torch.nested.nested_tensor_from_jagged(values, offsets, min_seqlen=int(lengths.min()),
                                                  max_seqlen=int(lengths.max()))


def full_length(suffix: torch.Tensor, offsets: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """A nested tensor over the suffixes, back at the full sequences' length: zeros before `first`."""
    values = suffix.values()
    out = values.new_zeros((int(offsets[-1]),) + tuple(values.shape[1:])).index_put((index,), values)
    return _jagged(out, offsets)


class ResponseLogits:
    """Mixin for verl's FSDPEngineWithLMHead (before it in the bases)."""

    def prepare_model_inputs(self, micro_batch):
        model_inputs, output_args = super().prepare_model_inputs(micro_batch)
        first = first_response_position(micro_batch, self.module)
        if first is not None and model_inputs["input_ids"].dim() == 2 and model_inputs["input_ids"].shape[1] > first:
            model_inputs["logits_to_keep"] = int(model_inputs["input_ids"].shape[1]) - first
            output_args[FIRST_KEY] = first
        return model_inputs, output_args

    def prepare_model_outputs(self, output, output_args, micro_batch, logits_processor_func):
        first = output_args.get(FIRST_KEY)
        if first is None:
            return super().prepare_model_outputs(output, output_args, micro_batch, logits_processor_func)
        offsets = micro_batch["input_ids"].offsets()
        index, suffix_offsets = suffix_index(offsets, first)
        suffix_batch = micro_batch.clone(recurse=False)
        suffix_batch["input_ids"] = _jagged(micro_batch["input_ids"].values()[index], suffix_offsets)
        suffix_args = {**output_args, "input_ids_rmpad_rolled": output_args["input_ids_rmpad_rolled"][index]}
        out = super().prepare_model_outputs(output, suffix_args, suffix_batch, logits_processor_func)
        for key in ("log_probs", "entropy"):
            if out.get(key) is not None:
                out[key] = full_length(out[key], offsets, index)
        return out

