"""adaLogitsProcessor: sample hotter while the model is thinking, cooler once thinking ends.

A vLLM (v1) logits processor, independent of the trainer. It divides each request's logits by
`think_scale` until the end-of-thinking marker (default `</think>`) has been generated, and by
`answer_scale` after it; vLLM has already applied the request's temperature, so the effective
temperatures are temperature*think_scale and temperature*answer_scale.

Enable it in a run (verl passes engine_kwargs.vllm straight to vLLM's engine):
  "+actor_rollout_ref.rollout.engine_kwargs.vllm.logits_processors=['adagrpo_ext.think_logits:ThinkAwareTemperature']"
Settings: environment ADAGRPO_THINK_SCALE, ADAGRPO_ANSWER_SCALE, ADAGRPO_THINK_END (reach the
rollout servers through ray_kwargs.ray_init.runtime_env.env_vars), or per request in
SamplingParams.extra_args {"think_scale", "answer_scale", "think_end"} when calling vLLM directly.

In training: vLLM's processed log-probs include this scaling; adaGRPO's engine (preset adagrpo)
recomputes each token's scale from the response (token_scales.py) and scores it with it. verl's
stock engine scores one temperature per sample: use verl's rollout correction there.
"""

import os

import torch
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor

from .settings import THINK_DEFAULTS

ENV = {"think_scale": "ADAGRPO_THINK_SCALE", "answer_scale": "ADAGRPO_ANSWER_SCALE", "think_end": "ADAGRPO_THINK_END"}
DEFAULTS = {"think_scale": float(THINK_DEFAULTS[ENV["think_scale"]]),
            "answer_scale": float(THINK_DEFAULTS[ENV["answer_scale"]]), "think_end": THINK_DEFAULTS[ENV["think_end"]]}


def env_settings() -> dict:
    """The processor's settings from the job's environment, else their declared defaults
    (adagrpo_ext/settings.py): the one reader, for vLLM's processes and the trainer's engine."""
    return {key: os.environ.get(name) or DEFAULTS[key] for key, name in ENV.items()}


def _settings(extra_args: dict | None) -> dict:
    merged = {**env_settings(), **(extra_args or {})}
    merged["think_scale"], merged["answer_scale"] = float(merged["think_scale"]), float(merged["answer_scale"])
    if merged["think_scale"] <= 0 or merged["answer_scale"] <= 0:
        raise ValueError(f"think_scale and answer_scale must be > 0, got {merged['think_scale']}, "
                         f"{merged['answer_scale']}")
    return merged


def marker_seen(tokens: list[int], marker: list[int], start: int) -> bool:
    """Whether `marker` occurs in tokens in a window that includes a token at index >= start."""
    m = len(marker)
    if m == 0:
        return False
    window = list(tokens[max(0, start - m + 1):])
    return any(window[i:i + m] == marker for i in range(len(window) - m + 1))


class ThinkAwareTemperature(LogitsProcessor):
    def __init__(self, vllm_config, device: torch.device, is_pin_memory: bool):
        self.device = device
        self._tokenizer = None
        self._tokenizer_name = getattr(getattr(vllm_config, "model_config", None), "tokenizer", None)
        self._marker_cache: dict[str, list[int]] = {}
        # batch row -> [output_tok_ids (live list), settings, marker ids, thinking ended, tokens checked]
        self.rows: dict[int, list] = {}

    @classmethod
    def validate_params(cls, sampling_params):
        _settings(sampling_params.extra_args)

    def is_argmax_invariant(self) -> bool:
        return True  # a positive scale never changes the most likely token

    def marker_ids(self, text: str) -> list[int]:
        if text not in self._marker_cache:
            if self._tokenizer is None:
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(self._tokenizer_name)
            self._marker_cache[text] = self._tokenizer.encode(text, add_special_tokens=False)
        return self._marker_cache[text]

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if batch_update is None:
            return
        for index in batch_update.removed:
            self.rows.pop(index, None)
        for index, params, _prompt_ids, output_ids in batch_update.added:
            s = _settings(params.extra_args)
            if s["think_scale"] == 1.0 and s["answer_scale"] == 1.0:
                self.rows.pop(index, None)
                continue
            self.rows[index] = [output_ids, s, self.marker_ids(s["think_end"]), False, 0]
        for a, b, direction in batch_update.moved:
            row_a, row_b = self.rows.pop(a, None), self.rows.pop(b, None)
            if row_a is not None:
                self.rows[b] = row_a
            if row_b is not None and direction.name == "SWAP":
                self.rows[a] = row_b

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.rows:
            return logits
        scale = torch.ones(logits.shape[0], dtype=logits.dtype)
        for index, row in self.rows.items():
            if index >= logits.shape[0]:
                continue
            output_ids, s, marker, ended, checked = row
            if not ended and marker_seen(output_ids, marker, checked):
                row[3] = ended = True
            row[4] = len(output_ids)
            scale[index] = s["answer_scale"] if ended else s["think_scale"]
        return logits.div_(scale.to(logits.device).unsqueeze(1))
