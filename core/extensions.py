"""The one interface between the launcher and an extension package (grpo_ext, adagrpo_ext): each has
a `launch` module with

    wire(cfg, user_keys) -> Wired

called once on the composed config. It parses the extension's block once, sets the verl hooks the
block asks for on `cfg` (returning the overrides that make verl's own composition agree) and hands
back the check the pre-flight runs later, in its place among the others, and the verl plugins the
run will need. Its `settings` module declares, as ENV_VARS, every environment variable its code
reads (verl hands its workers no config of ours, so a setting may travel that way; the variable is
declared where the extension's settings are, with its default and what reads it), and as USES the
other option packages it imports. tests/unit/test_layout.py holds every extension to both.

An extension may also offer what another one checks for, in its settings' PROVIDES
({capability: value}; the capability is named after the package that defines and checks it): adaGRPO
offers grpo_ext its engine and its sampler, so grpo_ext accepts them without naming adaGRPO."""

from dataclasses import dataclass, field
from typing import Callable

from .config import hydra_string, hydra_value

_ABSENT = object()


@dataclass(frozen=True)
class EnvVar:
    name: str
    default: str | None  # what the reader assumes when it is not set
    read_by: str  # which code reads it, in which process


@dataclass
class Wired:
    overrides: list[str]
    # (the fitted config, the training files) -> the plan's warnings; raises UsageError
    check: Callable[[object, list[str]], list[str]]
    # (the fitted config) -> {verl plugin module (entry point verl.plugins): what the run needs it for}
    plugins: Callable[[object], dict[str, str]] = field(default=lambda cfg: {})


def provided(capability: str) -> list:
    """What the listed extensions offer for `capability` (their settings' PROVIDES), in list order."""
    from importlib import import_module

    from .config import extension_packages

    offers = (getattr(import_module(f"{package}.settings"), "PROVIDES", {}) for package in extension_packages())
    return [offer[capability] for offer in offers if capability in offer]


def set_keys(cfg, settings: list[tuple[str, object]]) -> list[str]:
    """Each (key, value) set on the composed config, and the override that makes verl's own
    composition say the same, rendered from the same value (a string stays a string: an env var's
    "1"). A key the config lacks (an open dict's, such as the workers' env vars) gets `++`."""
    from omegaconf import OmegaConf, open_dict

    overrides = []
    with open_dict(cfg):
        for key, value in settings:
            add = "++" if OmegaConf.select(cfg, key, default=_ABSENT) is _ABSENT else ""
            OmegaConf.update(cfg, key, value, merge=False)
            overrides.append(f"{add}{key}={_rendered(value)}")
    return overrides


def _rendered(value) -> str:
    import yaml

    if isinstance(value, str) and not isinstance(yaml.safe_load(value or "''"), str):
        return hydra_string(value)  # "1", "0.5", "true": Hydra would read a number or a boolean
    return hydra_value(value)
