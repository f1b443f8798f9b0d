"""OpenRLHF reward files, unchanged: `reward_func(queries, prompts, labels)` (OpenRLHF's
`--remote_rm_url my_reward.py`), returning a tensor (or list) of rewards, or a dict whose "rewards"
holds them (OpenRLHF's newer form, beside "scores" and "extra_logs").

Called one response at a time, with what OpenRLHF passes: `queries` the prompt followed by the
response, `prompts` the prompt, `labels` the ground truth (OpenRLHF's --label_key column), each a
one-element list. The prompt is the text of its last user message: verl hands the reward the chat
messages, not the chat-templated string OpenRLHF's queries start with, so a function that splits a
query on the template's own markers reads the response from `queries[0][len(prompts[0]):]`
instead. Any other parameter the function names gets the row's column of that name, as TRL's do.
"""

import inspect
import math

from .trl_adapter import FORMAT_KEY, PROMPT_KEY, COMPLETION_IDS_KEY, TRLRewardError, settle

OPENRLHF_ARGUMENTS = ("queries", "labels")


def is_openrlhf_function(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "queries" in params


def _prompt_text(prompt) -> str:
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    messages = [dict(m) for m in prompt]
    return next((m["content"] for m in reversed(messages) if m.get("role") == "user"), messages[-1]["content"])


def _first(value):
    """The one reward out of what the function returned for one query."""
    if isinstance(value, dict):
        if "rewards" not in value:
            raise TRLRewardError(f"returned a dict without 'rewards' (keys: {', '.join(map(str, value))}); OpenRLHF "
                                 f"reward functions return a tensor of rewards or {{'rewards': ..., 'scores': ...}}")
        value = value["rewards"]
    if hasattr(value, "tolist"):  # a torch tensor or a numpy array
        value = value.tolist()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or len(value) != 1:
        raise TRLRewardError(f"returned {value!r}; an OpenRLHF reward function returns one reward per query")
    reward = value[0]
    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(reward):
        raise TRLRewardError(f"returned [{reward!r}]; expected a finite number per query")
    return float(reward)


def call_openrlhf(fn, data_source, solution_str, ground_truth, extra_info=None) -> float:
    extra = dict(extra_info or {})
    prompt = _prompt_text(extra.pop(PROMPT_KEY, None))
    extra.pop(COMPLETION_IDS_KEY, None)
    extra.pop(FORMAT_KEY, None)
    kwargs = {**{k: [v] for k, v in extra.items()}, "queries": [prompt + solution_str], "prompts": [prompt],
              "labels": [ground_truth], "data_source": [data_source]}
    params = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    out = fn(**kwargs)
    if inspect.isawaitable(out):
        out = settle(out)
    return _first(out)
