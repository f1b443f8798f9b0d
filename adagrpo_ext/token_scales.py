"""The think-aware logits processor's scale of every response token, recomputed for the trainer.

adagrpo_ext/think_logits.py divides a token's logits by `think_scale` until the end-of-thinking
marker has been generated, and by `answer_scale` after it. Which scale a token got depends only on
the response tokens before it, so the trainer can recompute it exactly from the response: no need
to carry it from vLLM. temperature_engine.py divides the trainer's logits by these factors, so old,
reference and new log-probs are those of the distribution the rollout sampled from.
"""

import torch

from .think_logits import env_settings


def settings_from_env() -> dict | None:
    """The scales the rollout's processor reads (ADAGRPO_THINK_SCALE / ADAGRPO_ANSWER_SCALE /
    ADAGRPO_THINK_END, which reach every worker through the job's runtime env); None when both are 1."""
    env = env_settings()
    think, answer = float(env["think_scale"]), float(env["answer_scale"])
    if think == 1.0 and answer == 1.0:
        return None
    return {"think_scale": think, "answer_scale": answer, "think_end": env["think_end"]}


def response_scales(response: list[int], marker: list[int], think: float, answer: float) -> list[float]:
    """Token k's scale: `answer` once the marker is complete within response[:k], else `think`
    (what the processor applies when it samples token k)."""
    scales, ended, m = [], False, len(marker)
    for k, token in enumerate(response):
        scales.append(answer if ended else think)
        if not ended and m and k + 1 >= m and response[k + 1 - m:k + 1] == marker:
            ended = True
    return scales


def position_factors(prompt_lens: list[int], responses: list[list[int]], marker: list[int],
                     think: float, answer: float) -> list[torch.Tensor]:
    """Per sequence (prompt + response), a factor per position: position j predicts token j + 1, so
    response token k's scale sits at position prompt_len + k - 1; every other position gets 1."""
    out = []
    for prompt_len, response in zip(prompt_lens, responses):
        factors = torch.ones(prompt_len + len(response), dtype=torch.float32)
        if response:
            factors[prompt_len - 1:prompt_len - 1 + len(response)] = torch.tensor(
                response_scales(response, marker, think, answer))
        out.append(factors)
    return out
