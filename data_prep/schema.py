"""Rows in verl's RL schema: data_source, prompt (chat messages), ability, reward_model, extra_info."""

import json
from dataclasses import dataclass, field

from reward.sources import SOURCES

from .readers import DataError



@dataclass
class PromptStyle:
    """How a question becomes chat messages (all from command-line flags)."""

    system: str | None = None
    suffix: str | None = None  # appended to the question, e.g. "Put the final answer in <answer></answer>."
    fewshot: list[dict] = field(default_factory=list)  # [{"role": "user", ...}, {"role": "assistant", ...}]

    def messages(self, question) -> list[dict]:
        if isinstance(question, list):  # already chat messages: keep them as they are
            return question
        content = question if not self.suffix else f"{question.rstrip()}\n{self.suffix}"
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, *self.fewshot, {"role": "user", "content": content}]


def normalise_ground_truth(value, data_source: str, where: str):
    """Strings pass; numbers become strings (JSON `42` means "42"); lists only where aliases are allowed."""
    if isinstance(value, bool) or value is None:
        raise DataError(f"{where}: ground_truth must be a string, got {type(value).__name__}")
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        if not value.strip():
            raise DataError(f"{where}: ground_truth is empty")
        return value
    if isinstance(value, (list, tuple)) and data_source in SOURCES and SOURCES[data_source].list_answers and value \
            and all(isinstance(v, str) for v in value):
        # Parquet needs one type per column: aliases travel as a JSON list in the string.
        return json.dumps(list(value), ensure_ascii=False)
    allowed = "a string (or, for qa/trivia, a list of strings)"
    raise DataError(f"{where}: ground_truth must be {allowed}, got {type(value).__name__}")


def make_row(question, ground_truth, data_source: str, style: PromptStyle, where: str, extra: dict | None = None):
    if question is None or (isinstance(question, str) and not question.strip()) or question == []:
        raise DataError(f"{where}: empty prompt")
    if not isinstance(question, (str, list)):
        raise DataError(f"{where}: prompt must be a string or a list of chat messages, got {type(question).__name__}")
    return {
        "data_source": data_source,
        "prompt": style.messages(question),
        "ability": SOURCES[data_source].ability if data_source in SOURCES else "other",
        "reward_model": {"style": "rule", "ground_truth": normalise_ground_truth(ground_truth, data_source, where)},
        "extra_info": {"source_row": where, **(extra or {})},
    }


def is_known_source(name: str) -> bool:
    return name in SOURCES
