"""Load a user's reward file (`--reward_func path.py[:name]`) and try it once before training."""

import importlib.util
import inspect
import math
from pathlib import Path

from .spec import RewardSpec
from .openrlhf_adapter import call_openrlhf, is_openrlhf_function
from .trl_adapter import COMPLETION_IDS_KEY, PROMPT_KEY, call_trl, is_trl_function, settle


class RewardFileError(Exception):
    """One line naming the file and what is wrong with it."""


def finite_score(result) -> float | None:
    """The score of a reward function's result (a number, or a dict's `score`) when it is a finite
    number, else None (a bool, a string, NaN, a dict without one): the one test of what a user's
    function returned, before training and in it."""
    value = result.get("score") if isinstance(result, dict) else result
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


_modules: dict[tuple, object] = {}  # (path, mtime, size) -> the imported module


# TRL passes these to reward functions; verl's reward workers have no trainer state or logger to give
NOT_PASSED = ("trainer_state", "log_extra", "log_metric")


def load(spec: str):
    """The function a `path.py[:name]` spec names, in either signature. The file is imported once
    per process while it is unchanged: the launcher's checks and the scorers ask for it repeatedly,
    and a reward module may import heavy things."""
    path, name = (parsed := RewardSpec.parse(spec)).path, parsed.name
    if not path.is_file():
        raise RewardFileError(f"{path}: no such file")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _modules:
        _modules[key] = _import(path)
    module = _modules[key]
    fn = getattr(module, name, None)
    if fn is None:
        defined = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise RewardFileError(f"{path}: no function {name!r} (it defines: {', '.join(defined) or 'nothing callable'})")
    if is_openrlhf_function(fn):  # before TRL's test: it names `prompts` too
        return fn
    if is_trl_function(fn):
        unsupported = [p for p in NOT_PASSED if p in inspect.signature(fn).parameters
                       and inspect.signature(fn).parameters[p].default is inspect.Parameter.empty]
        if unsupported:
            raise RewardFileError(f"{path}: {name} needs {', '.join(unsupported)}, which TRL's trainer passes but "
                                  f"verl's reward workers cannot (they do not know the step or the trainer's "
                                  f"log); give it a default (None) or read it from **kwargs")
        return fn
    try:
        inspect.signature(fn).bind("src", "solution", "truth", extra_info={})
    except TypeError:
        raise RewardFileError(f"{path}: {name}{inspect.signature(fn)} must accept "
                              f"(data_source, solution_str, ground_truth, extra_info=None), or be a TRL reward "
                              f"function (completions, **kwargs) -> list[float], or an OpenRLHF one "
                              f"(queries, prompts, labels) -> rewards") from None
    return fn


def _import(path: Path):
    module_spec = importlib.util.spec_from_file_location(f"user_reward_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as err:  # anything the user's module raises at import
        raise RewardFileError(f"{path}: import failed: {type(err).__name__}: {err}") from None
    return module


def load_any(spec: str):
    """The function of `path.py[:name]` with verl's signature, whichever form the file uses."""
    fn = load(spec)
    if is_openrlhf_function(fn):
        def from_openrlhf(data_source, solution_str, ground_truth, extra_info=None, **_):
            return call_openrlhf(fn, data_source, solution_str, ground_truth, extra_info)

        from_openrlhf.__name__ = fn.__name__
        from_openrlhf.needs_prompt = True  # the reward manager hands it the prompt, as for TRL's
        return from_openrlhf
    if not is_trl_function(fn):
        return fn

    def verl_signature(data_source, solution_str, ground_truth, extra_info=None, **_):
        return call_trl(fn, data_source, solution_str, ground_truth, extra_info)

    verl_signature.__name__ = fn.__name__
    verl_signature.trl = True  # its None means "no score", as in TRL
    verl_signature.needs_prompt = True
    return verl_signature


def check(spec: str, sample: dict) -> float:
    """Call the function on one sample row; returns its score or raises RewardFileError."""
    fn = load_any(spec)
    path = RewardSpec.parse(spec).path
    extra = dict(sample.get("extra_info") or {})
    if getattr(fn, "needs_prompt", False):  # what training hands a TRL or OpenRLHF function (reward_manager.py)
        if sample.get("prompt") is not None:
            extra[PROMPT_KEY] = sample["prompt"]
        # stand-in token ids (one per byte) so length-based functions (TRL's overlong and cosine
        # rewards) can be tried before a tokenizer is loaded; training passes the real ids
        extra.setdefault(COMPLETION_IDS_KEY, list(sample["solution_str"].encode()))
    try:
        result = fn(sample["data_source"], sample["solution_str"], sample["ground_truth"], extra_info=extra)
        if inspect.isawaitable(result):
            result = settle(result)
    except Exception as err:
        raise RewardFileError(f"{path}: raised on a sample row ({sample['data_source']!r}): "
                              f"{type(err).__name__}: {err}") from None
    trl = getattr(fn, "trl", False)
    if trl and (result.get("score") if isinstance(result, dict) else result) is None:
        return 0.0  # a TRL function's "no score", left out of the sum in training too
    score = finite_score(result)
    if score is None:  # the rule training applies (reward/user_functions.py score_one)
        expected = "a finite float or None" if trl else "a number or a dict with a numeric 'score'"
        raise RewardFileError(f"{path}: returned {repr(result)[:80]} on a sample row; expected {expected}"
                              + ("" if trl or result is not None else " (None is TRL's 'no score'; a verl "
                                 "compute_score must score every response)"))
    return score

