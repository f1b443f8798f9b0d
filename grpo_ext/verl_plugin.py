"""Entry point `verl.plugins: grpo_ext`, imported by `import verl` in every process: registers the
`dynamic_clip` policy loss and the engine that lets it read per-sample fields when a run selects
them (VERL_ENGINE_VENDOR=grpo_ext; adaGRPO's engine imports the loss itself), nothing otherwise."""

import os

if os.environ.get("VERL_ENGINE_VENDOR") == "grpo_ext":
    if os.environ.get("VERL_PLATFORM") == "cpu":
        import verl_cpu.verl_plugin  # noqa: F401  (the engine module asks for the device at import)
    from . import engine  # noqa: F401  (imports clip_loss too)
