"""Entry point `verl.plugins: trainer_hooks`, imported by `import verl` in every process: with a stop
file set by the launcher, the trainer that saves and stops on request (graceful_stop.py); with
VERL_ENGINE_VENDOR=pipeline, every run's engine (core/engine.py: logits for the response positions
only, LoRA merged for the rollout in its precision); and each extension's own `verl_plugin`, from the
one list of extensions (configs/grpo_trainer.yaml), so an extension needs no entry point of its own."""

import os
from importlib import import_module

from core.config import extension_packages

from .graceful_stop import STOP_FILE_ENV

if os.environ.get(STOP_FILE_ENV):
    from . import graceful_stop

    graceful_stop.install()

if os.environ.get("VERL_ENGINE_VENDOR") == "pipeline":
    if os.environ.get("VERL_PLATFORM") == "cpu":
        import verl_cpu.verl_plugin  # noqa: F401  (the engine module asks for the device at import)
    from core import engine

    engine.register()

for package in extension_packages():  # each registers only what the run selected (its docstring)
    import_module(f"{package}.verl_plugin")
