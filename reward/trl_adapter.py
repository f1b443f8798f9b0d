"""TRL reward functions, unchanged: `fn(completions, **kwargs) -> list[float | None]` (optionally
`prompts`, `completion_ids`), called for one completion at a time with what TRL would pass.

Completions are conversational, `[{"role": "assistant", "content": ...}]`, as TRL passes them for
conversational datasets; for rows whose prompt was a plain string (TRL's standard format, noted
by data_prep as extra_info.prompt_format), the completion and the prompt are plain strings. kwargs carry the dataset's
columns as TRL does: `ground_truth`, every `extra_info` field (the row's other columns), `answer`
and `solution` set to the ground truth where the row has no such column (the names TRL's examples
use), `data_source`, and `prompts` (the chat messages, when
verl's reward manager handed them over: reward/reward_manager.py), each as a one-element list.
A `None` returned means "no score" (as in TRL): the caller leaves it out of the weighted sum.
"""

import inspect
import math

PROMPT_KEY = "prompt"  # extra_info fields our reward manager adds for TRL functions
COMPLETION_IDS_KEY = "completion_ids"


TRL_ARGUMENTS = ("completions", "completion_ids", "prompts")  # what GRPOTrainer passes by keyword
FORMAT_KEY = "prompt_format"  # data_prep's note of a row whose prompt was a plain string (TRL's standard format)


def is_trl_function(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return any(name in params for name in TRL_ARGUMENTS)


def _accepts(fn) -> tuple[set[str], bool]:
    params = inspect.signature(fn).parameters
    varkw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return set(params), varkw


def settle(awaitable):
    """The value of an async reward function's coroutine (each scoring runs in its own process,
    with no event loop of its own)."""
    import asyncio

    async def wait():
        return await awaitable

    return asyncio.run(wait())


class TRLRewardError(ValueError):
    pass


def call_trl(fn, data_source, solution_str, ground_truth, extra_info=None) -> float | None:
    extra = dict(extra_info or {})
    prompt = extra.pop(PROMPT_KEY, None)
    completion_ids = extra.pop(COMPLETION_IDS_KEY, None)
    standard = extra.pop(FORMAT_KEY, None) == "standard"
    if prompt is not None:
        prompt = [dict(m) for m in prompt]
        if standard:  # TRL's standard format: the prompt and the completion are plain strings
            prompt = next((m["content"] for m in reversed(prompt) if m.get("role") == "user"), prompt[-1]["content"])
    completion = solution_str if standard else [{"role": "assistant", "content": solution_str}]
    # `answer` and `solution` (the names TRL's examples use) name the ground truth only where the
    # dataset has no column of that name: TRL passes a row's own columns, and so do we
    kwargs = {"answer": [ground_truth], "solution": [ground_truth], **{k: [v] for k, v in extra.items()},
              "ground_truth": [ground_truth], "data_source": [data_source], "prompts": [prompt],
              "completions": [completion],
              "completion_ids": [list(completion_ids) if completion_ids is not None else None]}
    names, varkw = _accepts(fn)
    if not varkw:
        kwargs = {k: v for k, v in kwargs.items() if k in names}
    out = fn(**kwargs)
    if inspect.isawaitable(out):  # TRL awaits async reward functions; so do we, in the scoring process
        out = settle(out)
    if not isinstance(out, (list, tuple)) or len(out) != 1:
        raise TRLRewardError(f"returned {out!r}; a TRL reward function returns a list with one float (or None) per "
                             f"completion")
    value = out[0]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TRLRewardError(f"returned [{value!r}]; expected a float or None per completion")
    return float(value)
