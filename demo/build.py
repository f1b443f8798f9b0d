"""Build the demo's model and data once, cached under outputs/demo/.

    python -m demo.build [--out outputs/demo]

Writes model/ (warm-started tiny Qwen2 + tokenizer), train.parquet and val.parquet. A stamp
file records the settings; a second call with the same settings returns at once.
"""

import argparse
import json
import random
import sys
from pathlib import Path

from .task import to_rows

SETTINGS = {"max_operand": 15, "val_size": 64, "warm_start_steps": 400, "bias": 0.6, "seed": 0, "version": 3}
# demo_hard: the same sums, but 90% of the warm start's labels are one too many, so sampling finds
# the right sum rarely and most groups of a step fail whole: where plain GRPO gets no signal.
VARIANTS = {"demo": SETTINGS, "demo_hard": {**SETTINGS, "bias": 0.9}}


def build(out: Path, log=print, variant: str = "demo") -> Path:
    settings = VARIANTS[variant]
    stamp = out / "BUILD.json"
    if stamp.exists() and json.loads(stamp.read_text()).get("settings") == settings:
        return out
    pairs = [(a, b) for a in range(settings["max_operand"]) for b in range(settings["max_operand"])]
    # The pool is small and finite: validation samples it, so the demo shows learning on the
    # task distribution, not generalisation to unseen sums.
    val_pairs = random.Random(settings["seed"] + 1).sample(pairs, settings["val_size"])
    # imported only to build: a cached demo (every launch after the first) needs none of them (8 s)
    import pandas as pd
    from transformers.utils import logging as hf_logging

    from .tiny_model import build_model, build_tokenizer, save_model
    from .warm_start import warm_start

    hf_logging.disable_progress_bar()
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed=settings["seed"])
    report = warm_start(model, tokenizer, pairs, val_pairs, steps=settings["warm_start_steps"],
                        bias=settings["bias"], seed=settings["seed"], log=log)
    save_model(model, tokenizer, out / "model")
    pd.DataFrame(to_rows(pairs, "train")).to_parquet(out / "train.parquet")
    pd.DataFrame(to_rows(val_pairs, "test")).to_parquet(out / "val.parquet")
    stamp.write_text(json.dumps({"settings": settings, "warm_start": report}, indent=1))
    log(f"model and data ready in {out} (warm start {report['steps']} steps; greedy val answers: "
        f"{report['val_greedy_accuracy']:.0%} right, {report['val_greedy_off_by_one']:.0%} off by one)")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="demo")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    build(args.out or Path("outputs") / args.variant, variant=args.variant)
    return 0


if __name__ == "__main__":
    sys.exit(main())
