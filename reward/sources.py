"""The data_source names our scorers judge (docs/rewards.md), listed once: which scorer, the ability
verl's schema records for it, and whether its ground truth may be a list of accepted answers.
reward/dispatch.py maps the scorer names to functions; data_prep/ writes rows with these names."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    scorer: str  # the function's name in reward/dispatch.py
    ability: str  # verl's `ability` column
    list_answers: bool = False  # ground truth may be a list of aliases (a JSON list in the string)


SOURCES = {
    "math_reasoning": Source("numeric", "math"),
    "gsm8k": Source("numeric", "math"),
    "math": Source("symbolic", "math"),
    "code": Source("code", "code"),
    "code_generation": Source("code", "code"),
    "qa": Source("qa", "qa", list_answers=True),
    "trivia": Source("qa", "qa", list_answers=True),
    "classification": Source("classification", "classification"),
}
BUILTIN_SOURCES = tuple(SOURCES)
