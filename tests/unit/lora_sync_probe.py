"""Run by test_lora.py in a process of its own (it starts a one-rank gloo process group): verl's LoRA
merge for the rollout on a real peft model under FSDP2, verl's own method and ours, against PEFT's
own merge. Prints JSON."""

import copy
import json
import os
import socket
import sys

os.environ["VERL_PLATFORM"] = "cpu"

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402


def main(rollout_dtype: str) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GRPO_ROLLOUT_DTYPE=rollout_dtype)
    dist.init_process_group("gloo", rank=0, world_size=1)
    import verl  # noqa: F401  (its plugins: the CPU platform)
    from peft import LoraConfig, get_peft_model
    from torch.distributed.fsdp import fully_shard
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

    from core.lora_sync import RolloutDtypeLoraSync

    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    model = get_peft_model(Qwen2ForCausalLM(cfg), LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)  # a trained adapter: the merge changes the weights
    expected = copy.deepcopy(model).merge_and_unload().state_dict()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for layer in model.base_model.model.model.layers:  # as verl wraps it: each decoder layer, then the root
        fully_shard(layer)
    fully_shard(model)

    class Ours(RolloutDtypeLoraSync, FSDPEngineWithLMHead):
        pass

    out = {}
    for label, cls in (("verl", FSDPEngineWithLMHead), ("ours", Ours), ("ours_again", Ours)):
        engine = object.__new__(cls)
        engine.module, engine._is_offload_param = model, False
        sent = dict(engine._merged_lora_per_tensor_param())
        common = [k for k in expected if k in sent]
        out[label] = {
            "names_matched": len(common), "names_expected": len(expected),
            "dtypes": sorted({str(sent[k].dtype) for k in common}),
            "max_error": max(float((sent[k].float() - expected[k].float()).abs().max()) for k in common),
            "worst": max(common, key=lambda k: float((sent[k].float() - expected[k].float()).abs().max())),
        }
    after = {k: v.full_tensor() if hasattr(v, "full_tensor") else v for k, v in model.state_dict().items()}
    out["restored"] = all(torch.equal(before[k], after[k]) for k in before)
    dist.destroy_process_group()
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
