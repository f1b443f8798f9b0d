"""How a LoRA run's weights reach the rollout: verl sends vLLM the adapters (vLLM's LoRA support),
or merges them into the weights before each sync (`actor_rollout_ref.model.lora.merge`), which any
rollout serves as plain weights. The plan chooses by what the rollout can load and says which."""

from omegaconf import OmegaConf, open_dict

MERGE_KEY = "actor_rollout_ref.model.lora.merge"
DTYPE_ENV_KEY = "ray_kwargs.ray_init.runtime_env.env_vars.GRPO_ROLLOUT_DTYPE"  # core/lora_sync.py
VLLM_MAX_LORA_RANK = 512  # vLLM's largest max_lora_rank (vllm.config.lora.MaxLoRARanks)


def lora_rank(cfg) -> int:
    model = cfg.actor_rollout_ref.model
    return int(model.get("lora_rank", 0) or 0) or int(OmegaConf.select(model, "lora.rank", default=0) or 0)


def _choice(cfg, gpu: bool, rank: int) -> tuple[bool, str]:
    rollout = str(cfg.actor_rollout_ref.rollout.name)
    if not gpu:
        return True, "vLLM on the CPU cannot load LoRA adapters"
    if rollout == "vllm" and rank > VLLM_MAX_LORA_RANK:
        return True, f"vLLM loads adapters up to rank {VLLM_MAX_LORA_RANK}"
    return False, f"{rollout} loads the adapters"


def lora_sync(cfg, user_keys: set[str], gpu: bool) -> tuple[list[str], list[str]]:
    """The overrides for a LoRA run's sync and the plan's line about it; nothing for full fine-tuning."""
    rank = lora_rank(cfg)
    if rank <= 0:
        return [], []
    if MERGE_KEY in user_keys:
        merge, why = bool(OmegaConf.select(cfg, MERGE_KEY)), f"{MERGE_KEY} set"
    else:
        merge, why = _choice(cfg, gpu, rank)
    overrides = [f"++{MERGE_KEY}={str(merge).lower()}"]
    with open_dict(cfg):
        OmegaConf.update(cfg, MERGE_KEY, merge, merge=True)
    if merge:
        dtype = str(cfg.actor_rollout_ref.rollout.get("dtype", "bfloat16"))
        overrides.append(f"++{DTYPE_ENV_KEY}='{dtype}'")
        with open_dict(cfg):
            OmegaConf.update(cfg, DTYPE_ENV_KEY, dtype, merge=True)
        line = f"LoRA rank {rank}: merged into the weights before each sync, sent in the rollout's {dtype} ({why})"
    else:
        line = f"LoRA rank {rank}: the adapters sent to the rollout each step ({why})"
    return overrides, [line]
