"""The flag table's value parsers (text -> value, ValueError naming what is valid) and the small
value -> override rules that are not TRL's (flags.py holds the table itself)."""

from typing import Callable

from core.config import hydra_value
from core.errors import UsageError

AUTO = "auto"  # --resume=auto: resume when the run folder has a checkpoint, else start afresh


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _int(text: str) -> int:
    return int(text)


def _float(text: str) -> float:
    return float(text)


def _str(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


def split_list(value) -> list[str]:
    """`a.parquet,b.parquet` (a flag) -> the files."""
    return [p for p in str(value or "").split(",") if p]


def _file_list(key: str) -> Callable[[object], list[str]]:
    def overrides(value) -> list[str]:
        paths = split_list(value)
        if len(paths) == 1:
            return [f"{key}={hydra_value(paths[0])}"]
        return [f"{key}=[{','.join(hydra_value(p) for p in paths)}]"]  # verl reads a list of files

    return overrides


def _reward_spec(text: str):
    from reward.spec import RewardSpec

    return RewardSpec.parse(text)


def _reward_funcs(specs) -> list[str]:
    """Each file runs through reward/user_functions.py (several combine by weight, each one bounded in time)."""
    from reward.verl_settings import config_overrides
    from reward.user_file import RewardFileError

    try:
        return config_overrides(specs)
    except RewardFileError as err:
        raise UsageError(f"--reward_func {err}") from None


def _parse_weights(text: str) -> list[float]:
    from reward.spec import parse_weights

    return parse_weights(text)


def _reward_weights(weights) -> list[str]:
    from reward.verl_settings import weight_overrides

    return weight_overrides(weights)


def _clip_pair(text: str) -> tuple[float, float]:
    parts = [float(x) for x in text.split(",") if x.strip()]
    if len(parts) != 2 or not 0 < parts[0] <= parts[1] < 1:
        raise ValueError("expected LOW,HIGH with 0 < LOW <= HIGH < 1, e.g. 0.1,0.3")
    return parts[0], parts[1]


def _unit(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError("expected a value from 0 to 1")
    return value


def _logger(value) -> list[str]:
    loggers = [x.strip() for x in str(value).split(",") if x.strip()]
    if "file" not in loggers:
        loggers.append("file")  # the launcher's progress line and summary read it
    return [f"trainer.logger=[{','.join(loggers)}]"]
