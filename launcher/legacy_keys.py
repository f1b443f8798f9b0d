"""verl's legacy top-level reward keys, read the way verl's own migration reads them.

verl 0.9.1 keeps `custom_reward_function.*`, `reward_model.*` and `sandbox_fusion.*` in its schema, but
only `fully_async_main` runs `migrate_legacy_reward_impl` (verl/experimental/reward_loop/reward_loop.py):
`main_ppo` ignores them, so a verl user's own reward file would silently give way to ours. Each raw
override of such a key becomes the new key verl's migration maps it to, and the plan says so; the
legacy keys the migration drops are refused in one line.
"""

# (legacy key, new key): a key ending in "." maps everything under it. verl 0.9.1's migration, in order.
RENAMES = (
    ("custom_reward_function.", "reward.custom_reward_function."),
    ("reward_model.num_workers", "reward.num_workers"),
    ("reward_model.reward_manager", "reward.reward_manager.name"),
    ("reward_model.reward_loop_source", "reward.reward_manager.source"),
    ("reward_model.reward_loop_module_path", "reward.reward_manager.module.path"),
    ("reward_model.reward_loop_class_name", "reward.reward_manager.module.name"),
    ("reward_model.enable", "reward.reward_model.enable"),
    ("reward_model.enable_resource_pool", "reward.reward_model.enable_resource_pool"),
    ("reward_model.n_gpus_per_node", "reward.reward_model.n_gpus_per_node"),
    ("reward_model.nnodes", "reward.reward_model.nnodes"),
    ("reward_model.model.path", "reward.reward_model.model_path"),
    ("reward_model.reward_kwargs", "reward.reward_kwargs"),  # DAPO's overlong buffer settings
    ("reward_model.reward_kwargs.", "reward.reward_kwargs."),
    ("reward_model.rollout.", "reward.reward_model.rollout."),
    ("sandbox_fusion.", "reward.sandbox_fusion."),
)
# keys the migration adds to sections that do not declare them (Hydra needs ++ to add a key)
ADDED = ("reward.reward_kwargs", "reward.custom_reward_function.reward_kwargs")
LEGACY_ROOTS = ("custom_reward_function", "reward_model", "sandbox_fusion")


def new_key(key: str) -> str | None:
    for old, new in RENAMES:
        if old.endswith(".") and key.startswith(old):
            return new + key[len(old):]
        if key == old:
            return new
    return None


def translate(overrides: list[str]) -> tuple[list[str], list[str]]:
    """(the overrides with legacy keys renamed, one plan line per renamed key). Raises ValueError
    (one line) for a legacy key verl's migration does not carry over."""
    out, lines = [], []
    for override in overrides:
        key, eq, value = override.partition("=")
        bare = key.lstrip("+~")
        if bare.split(".", 1)[0] not in LEGACY_ROOTS:
            out.append(override)
            continue
        target = new_key(bare)
        if target is None:
            raise ValueError(f"{bare}: a legacy verl key that verl's migration to reward.* does not carry over and "
                             f"main_ppo ignores; set its reward.* counterpart (see reward.reward_model in "
                             f"./train.sh --dry-run)")
        prefix = key[:len(key) - len(bare)]
        if prefix in ("", "+") and any(target == a or target.startswith(a + ".") for a in ADDED):
            prefix = "++"
        out.append(f"{prefix}{target}{eq}{value}")
        lines.append(f"{bare}: verl's legacy key, read as {target} (as verl's migration does; main_ppo "
                     f"ignores the legacy one)")
    return out, lines
