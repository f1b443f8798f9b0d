"""The extension packages the launcher wires, in order, each through its `launch.wire` (the
interface: core/extensions.py). An extension's config, checks and hooks live in its own package."""

from adagrpo_ext import launch as adagrpo_launch
from grpo_ext import launch as grpo_ext_launch

EXTENSIONS = (grpo_ext_launch, adagrpo_launch)


def wire_all(cfg, user_keys: set[str]) -> list:
    return [extension.wire(cfg, user_keys) for extension in EXTENSIONS]
