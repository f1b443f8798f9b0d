"""The extension packages the launcher wires, in the order configs/grpo_trainer.yaml lists them (the
one list: core.config.extension_packages), each through its `launch.wire` (the interface:
core/extensions.py). An extension's config, checks and hooks live in its own package."""

from importlib import import_module

from core.config import extension_packages

EXTENSIONS = tuple(import_module(f"{package}.launch") for package in extension_packages())


def wire_all(cfg, user_keys: set[str]) -> list:
    return [extension.wire(cfg, user_keys) for extension in EXTENSIONS]
