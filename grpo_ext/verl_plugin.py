"""Entry point `verl.plugins: grpo_ext`, imported by `import verl` in every process: registers the
`dynamic_clip` / `prefix_sft` policy losses, and the engine that lets a loss read per-sample fields,
when a run selects them (VERL_ENGINE_VENDOR=grpo_ext, or GRPO_EXT_LOSSES=1 for the losses alone;
adaGRPO's engine imports them itself), and the advantage estimators with GRPO_EXT_ADVANTAGE=1;
nothing otherwise."""

import os

if os.environ.get("VERL_ENGINE_VENDOR") == "grpo_ext":
    if os.environ.get("VERL_PLATFORM") == "cpu":
        import verl_cpu.verl_plugin  # noqa: F401  (the engine module asks for the device at import)
    from . import engine  # noqa: F401  (imports policy_loss too)
elif os.environ.get("GRPO_EXT_LOSSES") == "1":
    from . import policy_loss  # noqa: F401
if os.environ.get("GRPO_EXT_ADVANTAGE") == "1":  # --scale_rewards batch: the estimator, where verl computes advantages
    from . import advantage  # noqa: F401
