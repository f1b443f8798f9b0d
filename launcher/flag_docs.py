"""docs/flags.md, made from the flag table (flags.FLAGS) and the base config's defaults, so the two
cannot drift: `python -m launcher.flag_docs > docs/flags.md` writes it, and a unit test fails when
the file differs from what this prints."""

import sys

from core.config import compose

from .flags import FLAGS, RAW_KEY_FLAGS

HEADER = """# Flags

`./train.sh --help` prints the same table in short. Every flag has the environment variable in the
second column (a comma-separated list for a repeatable flag); flags win over environment variables,
and raw `key=value` overrides win over both (passed to verl's Hydra unchanged; `+key=`/`++key=` work
too). Precedence, lowest to highest: `configs/grpo_trainer.yaml` < presets < environment variables <
flags < raw overrides. A flag whose third column is empty sets what its description says.

This file is generated from the flag table in `launcher/flags.py` (`python -m launcher.flag_docs >
docs/flags.md`); the defaults are the base config's, before presets (the `cpu` preset, applied with
no GPU, changes some of them: `configs/preset/cpu.yaml`).

| flag | env var | verl key (default) | what it does |
| --- | --- | --- | --- |
"""

FOOTER = """
verl override lists work as they are: {raw} count as the flags that set them (a run given model and
data this way is a normal run in `outputs/<project_name>/<experiment_name>`); every other key goes
to verl unchanged.
"""


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _default(cfg, key: str) -> str:
    from omegaconf import OmegaConf

    value = OmegaConf.select(cfg, key, default=None)
    return "" if value is None else f" ({_cell(value)})"


def render() -> str:
    cfg = compose([])
    rows = []
    for flag in FLAGS:
        names = " ".join(f"`--{n}`" for n in (flag.name, *flag.aliases) if len(n) > 1)
        left = names if flag.is_switch else f"{names} `{_cell(flag.metavar)}`"
        owned = [key for key, name in RAW_KEY_FLAGS.items() if name == flag.name and key not in flag.keys]
        shown = [] if flag.name == "model" else flag.keys  # verl's default model path is a placeholder
        keys = "<br>".join(f"`{k}`{_default(cfg, k) if k in shown else ''}" for k in (*flag.keys, *owned))
        extra = "; repeatable" if flag.repeatable and "repeatable" not in flag.help else ""
        choices = f" (one of: {', '.join(flag.choices)})" if flag.choices and flag.metavar == "TYPE" else ""
        rows.append(f"| {left} | {f'`{flag.env}`' if flag.env else ''} | {keys} | {_cell(flag.help)}{choices}{extra} |")
    raw = ", ".join(f"`{key}`" for key in RAW_KEY_FLAGS)
    return HEADER + "\n".join(rows) + "\n" + FOOTER.format(raw=raw)


if __name__ == "__main__":
    sys.stdout.write(render())
