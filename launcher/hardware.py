"""What this machine has, and the batch sizes that fit it (checked and fitted before Ray starts)."""

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.config import hydra_value

from core.errors import UsageError

MINI_BATCH_KEY = "actor_rollout_ref.actor.ppo_mini_batch_size"


def flash_attn_works() -> bool:
    """flash_attn imports here (installed and built for this torch). Checked in a child process:
    a wheel built for another torch fails at import with an undefined symbol."""
    if importlib.util.find_spec("flash_attn") is None:
        return False
    try:
        done = subprocess.run([sys.executable, "-c", "import flash_attn"], capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@dataclass
class Change:
    """A setting the launcher chose because the user did not: shown in the plan."""
    key: str
    old: object
    new: object

    @property
    def override(self) -> str:
        add = "++" if self.old is None else ""  # a key the config does not have yet (an open dict's)
        return f"{add}{self.key}={hydra_value(self.new)}"  # quoted as Hydra needs (a path with spaces)


def get(cfg, key: str):
    node = cfg
    for part in key.split("."):
        node = node.get(part) if node is not None else None
    return node


def world_size(cfg) -> int:
    return int(cfg.trainer.n_gpus_per_node) * int(cfg.trainer.nnodes)


def fit_mini_batch(cfg, user_keys: set[str]) -> list[Change]:
    """verl's mini-batch default (64 prompts) is sized for GPU batches of 256+: when the user did not
    set it, it follows --batch_size down to the largest size that divides the batch and splits over
    the GPUs. A user's own value is kept (and checked by check_divisibility)."""
    if MINI_BATCH_KEY in user_keys:
        return []
    batch, mini, n, world = (int(cfg.data.train_batch_size), int(get(cfg, MINI_BATCH_KEY)),
                             int(cfg.actor_rollout_ref.rollout.n), world_size(cfg))
    if mini <= batch and batch % mini == 0 and (mini * n) % world == 0:
        return []
    fits = [d for d in range(1, min(mini, batch) + 1) if batch % d == 0 and (d * n) % world == 0]
    return [Change(MINI_BATCH_KEY, mini, max(fits))] if fits else []


def check_divisibility(cfg) -> None:
    """verl's own checks fire late, inside Ray, as assertion tracebacks; these say which number to change."""
    batch, mini, n, world = (int(cfg.data.train_batch_size), int(get(cfg, MINI_BATCH_KEY)),
                             int(cfg.actor_rollout_ref.rollout.n), world_size(cfg))
    tp = int(cfg.actor_rollout_ref.rollout.tensor_model_parallel_size)
    if world % tp:
        raise UsageError(f"--tp {tp} must divide the number of GPUs ({world}): use --tp 1, or a divisor of {world}")
    if mini > batch:
        raise UsageError(f"{MINI_BATCH_KEY}={mini} exceeds --batch_size {batch}: lower it to a divisor of {batch} "
                         f"or raise --batch_size")
    if batch % mini:
        raise UsageError(f"--batch_size {batch} must be a multiple of {MINI_BATCH_KEY}={mini}")
    if (mini * n) % world:  # then the batch's responses split too: it is a multiple of the mini-batch
        raise UsageError(f"{MINI_BATCH_KEY} x --rollout_n = {mini * n} responses must split evenly over {world} "
                         f"GPUs: change --batch_size/--rollout_n or --n_gpus")


MICRO_BATCH_KEYS = {
    # key -> (which per-GPU batch it splits: "update" = mini-batch responses, "forward" = step
    # responses; the switch that replaces it with token budgets)
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": ("update", "actor_rollout_ref.actor.use_dynamic_bsz"),
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu":
        ("forward", "actor_rollout_ref.rollout.log_prob_use_dynamic_bsz"),
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu":
        ("forward", "actor_rollout_ref.ref.log_prob_use_dynamic_bsz"),
}


def largest_divisor_at_most(n: int, cap: int) -> int:
    return max(d for d in range(1, min(n, cap) + 1) if n % d == 0)


def per_gpu_responses(cfg) -> dict[str, int]:
    n, world = int(cfg.actor_rollout_ref.rollout.n), world_size(cfg)
    return {"update": int(get(cfg, MINI_BATCH_KEY)) * n // world, "forward": int(cfg.data.train_batch_size) * n // world}


def fit_micro_batches(cfg, user_keys: set[str]) -> list[Change]:
    """Micro-batches must divide each GPU's share of the batch (verl asserts it deep inside a worker).
    Settings the user did not give are lowered to the largest size that divides; a user's own value
    that does not divide is an error naming the key."""
    per_gpu = per_gpu_responses(cfg)
    changes = []
    for key, (kind, dynamic) in MICRO_BATCH_KEYS.items():
        micro = get(cfg, key)
        if micro is None or get(cfg, dynamic):
            continue
        micro, share = int(micro), per_gpu[kind]
        if share % micro == 0:
            continue
        if key in user_keys:
            raise UsageError(f"{key}={micro} must divide each GPU's {share} responses per "
                             f"{'mini-batch' if kind == 'update' else 'step'}; use a divisor of {share}")
        changes.append(Change(key, micro, largest_divisor_at_most(share, micro)))
    return changes


TOKEN_BUDGET_KEYS = {
    # With dynamic batch sizes verl packs micro-batches up to a token budget per GPU. verl's tuning guide
    # (docs/perf/perf_tuning.rst): at least 2x (max_prompt + max_response), 3x in its seq-balance
    # examples; forward-only passes (log-probs) can take more, here twice the update's budget.
    "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 1,
    "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu": 2,
    "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu": 2,
}
VERL_TOKEN_BUDGET = 16384  # verl's default: never planned below it


def fit_token_budgets(cfg, user_keys: set[str], gpu: bool = True) -> list[Change]:
    """Token budgets when dynamic batch sizes are on: on GPUs derived from the prompt and response
    lengths (verl's guide), on a CPU from host memory (cpu_token_budget)."""
    if not cfg.actor_rollout_ref.actor.get("use_dynamic_bsz"):
        return []
    sequence = int(cfg.data.max_prompt_length) + int(cfg.data.max_response_length)
    update = max(VERL_TOKEN_BUDGET, 3 * sequence) if gpu else cpu_token_budget(cfg, sequence)
    changes = []
    for key, scale in TOKEN_BUDGET_KEYS.items():
        if key in user_keys or get(cfg, key) is None:
            continue
        if int(get(cfg, key)) != update * scale:
            changes.append(Change(key, get(cfg, key), update * scale))
    return changes


CPU_ACTIVATION_SHARE = 0.05  # of host memory, for one update micro-batch's activations and logits


def host_memory_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().total)


def decoder_shape(config: dict) -> dict | None:
    """A decoder's sizes from its config.json (a vision-language model's text part): vocab, hidden,
    layers, intermediate, heads, kv_heads, tied (embeddings shared with the LM head); None when its
    config does not say."""
    text = config.get("text_config") or config
    try:
        hidden = int(text["hidden_size"])
        heads = int(text.get("num_attention_heads") or 1)
        return {"vocab": int(text["vocab_size"]), "hidden": hidden, "layers": int(text["num_hidden_layers"]),
                "intermediate": int(text.get("intermediate_size") or 4 * hidden), "heads": heads,
                "kv_heads": int(text.get("num_key_value_heads") or heads),
                "tied": bool(text.get("tie_word_embeddings", config.get("tie_word_embeddings", True)))}
    except (KeyError, TypeError, ValueError):
        return None


def training_bytes_per_token(config: dict) -> int | None:
    """fp32 bytes one token holds through a forward and backward pass without checkpointing: the
    logits and their log-softmax and gradient (3 x vocab), and per layer the saved activations
    (~10 x hidden for attention and norms, 4 x intermediate for the MLP). SmolLM2-135M: 2.0 MB."""
    d = decoder_shape(config)
    if d is None:
        return None
    return 4 * (3 * d["vocab"] + d["layers"] * (10 * d["hidden"] + 4 * d["intermediate"]))


def cpu_token_budget(cfg, sequence: int, memory: int | None = None) -> int:
    """Tokens per update micro-batch on a CPU: what one micro-batch's activations and logits may
    take of host memory (5%: 1.2 GB of 24 GB, ~600 tokens of SmolLM2-135M), never below one
    whole sequence (verl's minimum) nor above verl's default. Without the model's config: 4
    sequences."""
    per_token = training_bytes_per_token(model_config(cfg))
    if per_token is None:
        return 4 * sequence
    share = CPU_ACTIVATION_SHARE * (memory or host_memory_bytes())
    return max(sequence, min(VERL_TOKEN_BUDGET, int(share // per_token)))


PROMPT_KEY, RESPONSE_KEY = "data.max_prompt_length", "data.max_response_length"


def model_config(cfg) -> dict:
    """The model's config.json: a local folder's, or a hub id's from the local hub cache ({} when
    neither is here; nothing is downloaded at plan time)."""
    import json

    path = Path(str(cfg.actor_rollout_ref.model.path)).expanduser()
    file = path / "config.json"
    if not path.is_dir():
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(str(cfg.actor_rollout_ref.model.path), "config.json")
            file = Path(cached) if isinstance(cached, str) else None
        except Exception:  # not a valid repo id, or no hub library: nothing known
            file = None
    try:
        config = json.loads(file.read_text()) if file else {}
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def model_positions(cfg) -> int | None:
    """max_position_embeddings of the model: the run's own override_config first (verl's DAPO recipe
    raises it to 32768 for a model that ships 4096, with RoPE scaling), else its config.json's
    (None when that is not here, or has none)."""
    override = (cfg.actor_rollout_ref.model.get("override_config") or {}).get("max_position_embeddings")
    try:
        return int(override or model_config(cfg).get("max_position_embeddings") or 0) or None
    except (ValueError, TypeError):
        return None


def is_multimodal(cfg) -> bool:
    """A vision-language model (its config has a vision tower): 3-D (mrope) position ids."""
    config = model_config(cfg)
    return "vision_config" in config or "vision_config" in (config.get("text_config") or {})


def fit_positions(cfg, chosen: set[str]) -> list[Change]:
    """Prompt + response within the model's positions, changing only what the user did not choose
    (both chosen and too long: preflight.check_positions refuses)."""
    positions = model_positions(cfg)
    prompt, response = int(cfg.data.max_prompt_length), int(cfg.data.max_response_length)
    if positions is None or prompt + response <= positions:
        return []
    if RESPONSE_KEY not in chosen and prompt < positions and (PROMPT_KEY in chosen or prompt <= positions // 2):
        return [Change(RESPONSE_KEY, response, positions - prompt)]
    if PROMPT_KEY not in chosen and response < positions and RESPONSE_KEY in chosen:
        return [Change(PROMPT_KEY, prompt, positions - response)]
    if not chosen & {PROMPT_KEY, RESPONSE_KEY}:
        return [Change(PROMPT_KEY, prompt, positions // 2), Change(RESPONSE_KEY, response, positions - positions // 2)]
    return []


OVERLONG_LEN_KEY = "reward.reward_kwargs.overlong_buffer_cfg.len"


def fit_overlong_buffer(cfg, user_keys: set[str]) -> list[Change]:
    """DAPO's overlong penalty ramps over the last `len` tokens of the response budget; verl asserts
    the budget is at least that long (inside a reward worker). For short responses, when the user
    did not set it, the ramp is the last quarter of the budget."""
    buffer = get(cfg, "reward.reward_kwargs.overlong_buffer_cfg")
    if not buffer or not buffer.get("enable") or OVERLONG_LEN_KEY in user_keys:
        return []
    budget = int(cfg.data.max_response_length)
    if int(buffer.len) <= budget:
        return []
    return [Change(OVERLONG_LEN_KEY, int(buffer.len), max(1, budget // 4))]


KV_CACHE_KEY = "actor_rollout_ref.rollout.engine_kwargs.vllm.kv_cache_memory_bytes"
MODEL_LEN_KEY = "actor_rollout_ref.rollout.max_model_len"
KV_BLOCK = 128  # tokens: each sequence's cache is counted in whole blocks of vLLM-CPU's largest size
DTYPE_BYTES = {"float32": 4, "fp32": 4, "bfloat16": 2, "bf16": 2, "float16": 2, "fp16": 2, "half": 2}
KV_FALLBACK = 2**30  # 1 GiB: when the model's config is not here to size it from


def kv_bytes_per_token(config: dict, dtype_bytes: int) -> int | None:
    """Keys and values of one token in every layer (None when the config does not say)."""
    text = config.get("text_config") or config
    try:
        layers, heads = int(text["num_hidden_layers"]), int(text["num_attention_heads"])
        kv_heads = int(text.get("num_key_value_heads") or heads)
        head_dim = int(text.get("head_dim") or int(text["hidden_size"]) // heads)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return 2 * layers * kv_heads * head_dim * dtype_bytes


def fit_kv_cache(cfg, user_keys: set[str]) -> list[Change]:
    """vLLM-CPU's KV cache, host memory it holds for the whole run, sized from the run instead of a
    fixed GiB: one step's responses at full length (whole blocks) with a quarter to spare. vLLM
    also wants one sequence of its max_model_len to fit, which verl leaves at the model's positions
    (8,192 for SmolLM2: 0.35 GiB of cache); a rollout never holds more than prompt + response
    tokens, verl's bound on every reply (multi-turn included), so that is max_model_len here.
    Validation sends more prompts at once; vLLM queues what does not fit."""
    rollout = cfg.actor_rollout_ref.rollout
    sequence = int(cfg.data.max_prompt_length) + int(cfg.data.max_response_length)
    changes = []
    if rollout.get("max_model_len") is None and MODEL_LEN_KEY not in user_keys:
        changes.append(Change(MODEL_LEN_KEY, None, sequence))
    model_len = int(rollout.get("max_model_len") or sequence)
    if KV_CACHE_KEY in user_keys or os.environ.get("VLLM_CPU_KVCACHE_SPACE"):
        return changes
    per_token = kv_bytes_per_token(model_config(cfg), DTYPE_BYTES.get(str(rollout.get("dtype")).lower(), 4))
    if per_token is None:
        return changes + [Change(KV_CACHE_KEY, None, KV_FALLBACK)]
    blocks = lambda tokens: -(-tokens // KV_BLOCK) * KV_BLOCK  # noqa: E731
    step = int(1.25 * int(cfg.data.train_batch_size) * int(rollout.n) * blocks(sequence) * per_token)
    return changes + [Change(KV_CACHE_KEY, None, max(64 * 2**20, step, blocks(model_len) * per_token))]
