"""grpo_ext at launch: its block parsed once, the verl hooks each option needs set from the composed
config, so a flag (--dynamic_clip, --difficulty_scale), a preset and a raw
`grpo_ext.<option>.enable=true` wire the same way, then what cannot work together refused.

- dynamic clipping: policy loss `dynamic_clip` and an engine that lets it read per-sample fields
  (VERL_ENGINE_VENDOR=grpo_ext; adaGRPO's engine does it too, so its vendor stays);
- difficulty scaling: advantage estimator `grpo_difficulty` in place of verl's `grpo`;
- curriculum: verl's custom dataset class hook, unshuffled, loaded in the trainer's process;
- prefix-guided rollouts: verl's agent-loop registry (`prefix_guided`), and with an SFT weight the
  `prefix_sft` policy loss (or `dynamic_clip`, which adds the same term);
- TRL's token masks: the grpo_ext engine (or adaGRPO's, which includes it) and the settings it reads
  from the workers' environment; the entropy mask also makes the update compute entropies.
Length normalisation and similarity weights need nothing beyond the sampler, which is ours by default.
"""

from pathlib import Path

from omegaconf import OmegaConf

from core.config import ray_env_vars
from core.errors import UsageError
from core.extensions import Wired, provided, set_keys

from . import token_masks
from .settings import ENGINE_CAPABILITY, SAMPLER_CAPABILITY, GrpoExtSettings, SettingsError, from_mapping

LOSS_KEY = "actor_rollout_ref.actor.policy_loss.loss_mode"
ENV_KEY = "ray_kwargs.ray_init.runtime_env.env_vars"  # the workers' environment (settings.ENV_VARS)
ENGINE_KEY = f"{ENV_KEY}.VERL_ENGINE_VENDOR"
CURRICULUM_PATH = "pkg://grpo_ext.curriculum"
PREFIX_LOOP = "prefix_guided"
AGENT_LOOPS_FILE = str(Path(__file__).resolve().with_name("agent_loops.yaml"))


def wire(cfg, user_keys: set[str]) -> Wired:
    """The launcher's one call (core/extensions.py): the block parsed once, the hooks set on `cfg`."""
    try:
        s = from_mapping(cfg.get("grpo_ext"))
    except SettingsError as err:
        raise UsageError(str(err)) from None

    def check(cfg, train_files: list[str]) -> list[str]:
        _check(cfg, s)
        if s.prefix and prefixed_rows(train_files) == 0:
            raise UsageError(f"--prefix_dropout / --prefix_sft: no training row of {', '.join(train_files)} has a "
                             "prefix (extra_info.prefix); write them with ./data_prep.sh convert ... --prefix-file FILE")
        return []

    return Wired(_hooks(cfg, s, user_keys), check, plugins)


def plugins(cfg) -> dict[str, str]:
    """Its verl plugin, when the run selects what the plugin registers (see verl_plugin.py)."""
    env = ray_env_vars(cfg)
    if env.get("GRPO_EXT_ADVANTAGE") == "1":
        return {"grpo_ext.verl_plugin": "the grpo_batch_std advantage estimator (--scale_rewards batch)"}
    if env.get("VERL_ENGINE_VENDOR") == "grpo_ext" or env.get("GRPO_EXT_LOSSES") == "1":
        return {"grpo_ext.verl_plugin": "the GRPO options' engine and policy losses"}
    return {}


def _hooks(cfg, s: GrpoExtSettings, user_keys: set[str]) -> list[str]:
    out: list[tuple[str, object]] = []  # (key, value), set on cfg and rendered by set_keys
    engines = provided(ENGINE_CAPABILITY)  # the vendors whose engines carry per-sample fields (grpo_ext's first)
    if s.dynamic_clip:
        mode = OmegaConf.select(cfg, LOSS_KEY)
        if LOSS_KEY in user_keys and mode != "dynamic_clip":
            raise UsageError(f"--dynamic_clip replaces the policy loss, but {LOSS_KEY}={mode} is set too; drop one")
        out.append((LOSS_KEY, "dynamic_clip"))
        vendor = OmegaConf.select(cfg, ENGINE_KEY)
        if vendor is None:
            out.append((ENGINE_KEY, "grpo_ext"))
        elif vendor not in engines:
            raise UsageError(f"--dynamic_clip needs an engine that exposes per-sample fields, but {ENGINE_KEY}="
                             f"{vendor}; valid: {' or '.join(engines)} (grpo_ext is set by "
                             "--dynamic_clip)")
    if s.prefix:
        agent = cfg.actor_rollout_ref.rollout.agent
        if agent.get("default_agent_loop") not in ("single_turn_agent", PREFIX_LOOP) or \
                agent.get("agent_loop_config_path") not in (None, AGENT_LOOPS_FILE):
            raise UsageError("--prefix_dropout / --prefix_sft run the rollout through the prefix_guided agent loop, but "
                             f"actor_rollout_ref.rollout.agent.default_agent_loop={agent.get('default_agent_loop')} / "
                             f"agent_loop_config_path={agent.get('agent_loop_config_path')} is set; drop one")
        out += [("actor_rollout_ref.rollout.agent.default_agent_loop", PREFIX_LOOP),
                ("actor_rollout_ref.rollout.agent.agent_loop_config_path", AGENT_LOOPS_FILE)]
        if s.prefix_sft_coef > 0:
            if not s.dynamic_clip:
                mode = OmegaConf.select(cfg, LOSS_KEY)
                if LOSS_KEY in user_keys and mode != "prefix_sft":
                    raise UsageError(f"--prefix_sft adds to the policy loss, but {LOSS_KEY}={mode} is set too; drop one")
                out.append((LOSS_KEY, "prefix_sft"))
            out += [(f"{ENV_KEY}.GRPO_EXT_PREFIX_SFT_COEF", str(s.prefix_sft_coef)), (f"{ENV_KEY}.GRPO_EXT_LOSSES", "1")]
    if s.token_masks:
        vendor = OmegaConf.select(cfg, ENGINE_KEY)
        if vendor is None and (ENGINE_KEY, "grpo_ext") not in out:
            out.append((ENGINE_KEY, "grpo_ext"))
        elif vendor is not None and vendor not in engines:
            raise UsageError(f"--mask_truncated_completions / --top_entropy_quantile are applied by an engine of "
                             f"ours, but {ENGINE_KEY}={vendor}; valid: {' or '.join(engines)} "
                             "(grpo_ext is set by them)")
        if s.mask_truncated:
            out.append((f"{ENV_KEY}.{token_masks.TRUNCATED_ENV}", str(int(cfg.data.max_response_length))))
        if s.top_entropy_quantile < 1.0:
            out += [(f"{ENV_KEY}.{token_masks.QUANTILE_ENV}", str(s.top_entropy_quantile)),
                    ("actor_rollout_ref.actor.calculate_entropy", True)]
    if s.difficulty_scale:
        estimator = str(cfg.algorithm.adv_estimator)
        if estimator not in ("grpo", "grpo_difficulty"):  # another estimator (a preset's, adaGRPO's) or the user's
            raise UsageError(f"--difficulty_scale scales verl's grpo advantages, but algorithm.adv_estimator="
                             f"{estimator}: both set the advantage estimator; use one of them")
        out.append(("algorithm.adv_estimator", "grpo_difficulty"))
    if s.curriculum:
        custom = cfg.data.get("custom_cls") or {}
        if custom.get("path") not in (None, CURRICULUM_PATH):
            raise UsageError(f"--curriculum orders prompts through its own dataset class, but data.custom_cls.path="
                             f"{custom.get('path')} is set; drop one")
        for key, given in (("data.shuffle", False), ("data.dataloader_num_workers", 0)):
            if key in user_keys and OmegaConf.select(cfg, key) != given:
                raise UsageError(f"--curriculum needs {key}={str(given).lower()} (it orders the prompts itself, "
                                 f"in the trainer's process); drop {key}")
        out += [("data.custom_cls.path", CURRICULUM_PATH), ("data.custom_cls.name", "CurriculumDataset"),
                ("data.shuffle", False), ("data.dataloader_num_workers", 0), ("data.curriculum_mode", s.curriculum_mode)]
    return set_keys(cfg, out)


def _check(cfg, s: GrpoExtSettings) -> None:
    """Refuse hooks set without their option, and options without the sampler that runs them."""
    if OmegaConf.select(cfg, LOSS_KEY) == "prefix_sft" and not s.prefix_sft_coef:
        raise UsageError(f"{LOSS_KEY}=prefix_sft needs --prefix_sft C (grpo_ext.prefix.sft_coef > 0)")
    if OmegaConf.select(cfg, LOSS_KEY) == "dynamic_clip" and not s.dynamic_clip:
        raise UsageError(f"{LOSS_KEY}=dynamic_clip reads clip ranges the sampler writes only with "
                         "--dynamic_clip LOW,HIGH (grpo_ext.dynamic_clip.enable=true)")
    if str(cfg.algorithm.adv_estimator) == "grpo_difficulty" and not s.difficulty_scale:
        raise UsageError("algorithm.adv_estimator=grpo_difficulty reads success rates the sampler publishes only "
                         "with --difficulty_scale A (grpo_ext.difficulty_scale.enable=true)")
    sampler = cfg.trainer.v1.sampler.get("custom_sampler") or {}
    where = f"{sampler.get('path')}:{sampler.get('name')}"
    samplers = provided(SAMPLER_CAPABILITY)
    if s.any and where not in samplers:
        raise UsageError(f"the grpo_ext options run in the step's sampler, but trainer.v1.sampler.custom_sampler is "
                         f"{where}; valid: {', '.join(samplers)}")


def prefixed_rows(train_files: list[str]) -> int:
    """Training rows with an extra_info.prefix (data_prep --prefix-file writes them)."""
    import pyarrow.parquet as pq

    count = 0
    for path in train_files:
        try:
            column = pq.read_table(path, columns=["extra_info"]).column("extra_info").to_pylist()
        except (OSError, KeyError, ValueError):
            continue  # no extra_info column: no prefixes
        count += sum(1 for info in column if isinstance(info, dict) and info.get("prefix"))
    return count

