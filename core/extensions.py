"""The one interface between the launcher and an extension package (grpo_ext, adagrpo_ext): each has
a `launch` module with

    wire(cfg, user_keys) -> Wired

called once on the composed config. It parses the extension's block once, sets the verl hooks the
block asks for on `cfg` (returning the overrides that make verl's own composition agree) and hands
back the check the pre-flight runs later, in its place among the others."""

from dataclasses import dataclass
from typing import Callable


@dataclass
class Wired:
    overrides: list[str]
    # (the fitted config, the training files) -> the plan's warnings; raises UsageError
    check: Callable[[object, list[str]], list[str]]
