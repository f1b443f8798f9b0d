"""Entry point `verl.plugins: adagrpo`, imported by `import verl` in every process: registers the
per-sample-temperature engine when a run selects it (VERL_ENGINE_VENDOR=adagrpo), and nothing
otherwise, so other runs do not pay for importing the FSDP engine."""

import os

if os.environ.get("VERL_ENGINE_VENDOR") == "adagrpo":
    if os.environ.get("VERL_PLATFORM") == "cpu":
        import verl_cpu.verl_plugin  # noqa: F401  (the engine module asks for the device at import)
    from . import temperature_engine  # noqa: F401
