"""Scoring responses with the reward a run trained with (its config), the given --reward_func, or
reward/'s compute_score: loaded by verl's own custom-reward loader, as the trainer loads it."""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from core.errors import UsageError
from reward.math_score import extract_math_answer
from reward.trl_adapter import COMPLETION_IDS_KEY, PROMPT_KEY


def reward_config(run_cfg: dict | None, specs: list[str], weights: list[float] | None = None):
    """The run's reward section, unless --reward_func/--reward_weights are given (then composed from
    configs/ with the same reward settings train.sh gives verl)."""
    from omegaconf import OmegaConf

    if run_cfg is not None and not specs:
        return OmegaConf.create(run_cfg)
    from core.config import compose
    from reward.verl_settings import config_overrides, weight_overrides
    from reward.user_file import RewardFileError

    try:
        overrides = config_overrides(specs) if specs else []
    except RewardFileError as err:
        raise UsageError(f"--reward_func {err}") from None
    return compose(overrides + (weight_overrides(weights) if weights else []))


@dataclass
class Scored:
    score: float
    accuracy: float  # the scorer's `acc` field when it gives one, else the score: what verl's val-core/acc averages
    correct: bool  # accuracy >= the pass threshold: what pass@k and maj@K count
    answer: str | None


def _as_scored(result, response: str, threshold: float) -> Scored:
    answer = None
    if isinstance(result, dict):
        score = float(result.get("score", 0.0))
        accuracy = float(result["acc"]) if "acc" in result else score
        answer = result.get("pred")
    else:
        score = accuracy = float(result)
    if answer is None:
        answer = extract_math_answer(response)
    return Scored(score, accuracy, accuracy >= threshold, None if answer is None else str(answer).strip())


def score_all(cfg, problems: list[dict], responses: list[list[dict]], threshold: float = 1.0) -> list[list[Scored]]:
    from verl.trainer.ppo.reward import get_custom_reward_fn

    fn = get_custom_reward_fn(cfg)
    if fn is None:
        raise ValueError("the run has no custom reward function to score with; give --reward_func")
    # TRL functions get the prompt and completion ids, as reward/reward_manager.py hands them over
    trl = cfg.reward.reward_manager.get("source") == "importlib"

    def one(job):
        problem, response = job
        extra = dict(problem["extra_info"])
        if trl:
            extra.update({PROMPT_KEY: problem["messages"], COMPLETION_IDS_KEY: response["token_ids"]})
        return _as_scored(fn(data_source=problem["data_source"], solution_str=response["text"],
                             ground_truth=problem["ground_truth"], extra_info=extra), response["text"], threshold)

    jobs = [(p, r) for p, rs in zip(problems, responses) for r in rs]
    with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
        flat = list(pool.map(one, jobs))
    out, i = [], 0
    for rs in responses:
        out.append(flat[i:i + len(rs)])
        i += len(rs)
    return out
