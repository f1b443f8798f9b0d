"""Compose configs/grpo_trainer.yaml with verl's trainer config exactly as main_ppo will; the presets there."""

import difflib
import functools
import re
from pathlib import Path

from .errors import UsageError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
CONFIG_NAME = "grpo_trainer"
PRESET_DIR = CONFIG_DIR / "preset"


@functools.lru_cache(maxsize=None)
def extension_packages() -> tuple[str, ...]:
    """The option packages, in order: the one list is configs/grpo_trainer.yaml, which puts each on
    Hydra's search path (its block in `defaults` beside it). The launcher wires each one's `launch`,
    and trainer_hooks' verl plugin imports each one's `verl_plugin` (docs/extending.md)."""
    import yaml

    trainer = yaml.safe_load((CONFIG_DIR / f"{CONFIG_NAME}.yaml").read_text())
    return tuple(entry.removeprefix("pkg://") for entry in trainer["hydra"]["searchpath"]
                 if entry.startswith("pkg://") and not entry.startswith("pkg://verl."))


def ray_env_vars(cfg) -> dict:
    """The env vars verl's Ray job gives every worker (ray_kwargs.ray_init.runtime_env.env_vars)."""
    return ((cfg.get("ray_kwargs") or {}).get("ray_init") or {}).get("runtime_env", {}).get("env_vars", {}) or {}


@functools.lru_cache(maxsize=None)
def block_defaults(path: Path) -> dict:
    """An extension's config block as its YAML file declares it (read once per process)."""
    import yaml

    return yaml.safe_load(Path(path).read_text())


def plain(block) -> dict:
    """A config block (DictConfig, dict or None) as a plain dict, interpolations resolved."""
    if hasattr(block, "items") and not isinstance(block, dict):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(block, resolve=True)
    return dict(block or {})


def preset_names() -> list[str]:
    """Every `--preset` there is (configs/preset/*.yaml)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def hydra_value(value) -> str:
    """A Python value as a Hydra override value (strings quoted where Hydra would split or parse them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and re.search(r"[\s,\[\]{}()'\"=:$\\]", value):
        return hydra_string(value)
    return str(value)


def hydra_string(value: str) -> str:
    """A string Hydra must keep a string (an env var's "1" or "0.5"), quoted."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _compose(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        return hydra_compose(config_name=CONFIG_NAME, overrides=overrides)


def _unknown_key_hint(overrides: list[str], message: str) -> str | None:
    """`adagrpo.max_round=3` -> the valid keys at that level, closest first."""
    match = re.search(r"Could not override '([^']+)'", message)
    if not match:
        return None
    key = match.group(1)
    if "megatron" in key.split("."):
        return (f"{key}: Megatron is not installed here; this stack trains with FSDP (model_engine=dp, the "
                f"default): drop the megatron keys (verl's *_megatron example scripts need Megatron-LM)")
    parent, _, leaf = key.rpartition(".")
    try:
        cfg = _compose([o for o in overrides if o.split("=", 1)[0].lstrip("+~") != key])
    except Exception:  # the hint is a courtesy; the error stands without it
        return None
    node = cfg
    for part in parent.split(".") if parent else []:
        node = node.get(part) if hasattr(node, "get") else None
    if not hasattr(node, "keys"):
        return f"{key}: no such key in the config ({parent or 'top level'} has no such section)"
    keys = sorted(str(k) for k in node.keys())
    close = difflib.get_close_matches(leaf, keys, n=3)
    where = parent or "the top level"
    guess = f"did you mean {', '.join(f'{parent}.{c}' if parent else c for c in close)}? " if close else ""
    return f"{key}: no such key; {guess}keys under {where}: {', '.join(keys)}"


def compose(overrides: list[str]):
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        return _compose(overrides)
    except (HydraException, OmegaConfBaseException) as err:
        message = str(err).strip()
        hint = _unknown_key_hint(overrides, message)
        raise UsageError(f"config: {hint or message.splitlines()[0]}") from None
