"""Every use of verl's private internals, written against verl 0.9.1 (VERL_VERSION), in one place.

verl has no public hook for these; each is named here with what it is, and
tests/unit/test_verl_internals_contract.py pins their names and signatures, so a verl upgrade that
moves one fails there, and the launcher's version check (`version_mismatch`, on CPU and GPU plans)
names the verl it found before a run can fail inside Ray.

- the sync ReplayBuffer's state and steps (adaGRPO's sampler): `partitions`, `finished_keys`,
  `failure_keys`, `_sync_metadata_from_transfer_queue`, `_wait_for_next_poll`,
  `_select_prompt_uids`, `_materialize_batch`, `_clear_groups` (the step verl's dynamic sampling
  evicts a group with before its `refill_fn`, a public constructor argument, asks a fresh prompt);
- the sample key `{uid}_{session}_{index}` and the reward's `reward_extra_info` in a sample's
  TransferQueue `extra_fields`;
- the TransferQueue agent-loop worker's Ray actor class and its `_run_prompt` (adaGRPO's re-asks),
  and the per-prompt `__rollout_n__` field;
- `verl/utils/reward_score/math_dapo.py`, loaded from its file (our math scorer's normalisation);
- the renames verl's engine worker applies to the reference's keys before it builds the typed config;
- what the padded path of verl's `FSDPEngineWithLMHead.prepare_model_outputs` reads, which
  core/response_logits.py hands it for the sequences' suffixes: logits narrowed per sequence from
  position 0 by `micro_batch["input_ids"]`'s offsets, labels from `output_args["input_ids_rmpad_rolled"]`
  (tests/unit/test_response_logits.py runs verl's own two methods both ways and compares);
- `FSDPEngine._merged_lora_per_tensor_param` (the merged-LoRA weights for the rollout), which
  core/lora_sync.py overrides to send the rollout's dtype, with verl's `merged_lora_context`,
  `normalize_peft_param_name` and `convert_weight_keys` (tests/unit/test_lora.py runs both on a real
  peft model under FSDP2 against PEFT's own merge).
- the v1 trainers' registry table `TRAINER_REGISTRY` (`register_trainer` refuses a second class for
  a name, so our stoppable "sync" trainer is written into the table) and the trainer's private
  `_save_checkpoint` (trainer_hooks/graceful_stop.py: the step in progress saved when a stop is asked);
Nothing here imports verl at module level: the reward's scoring processes import this module too.
"""

import functools
from importlib.metadata import PackageNotFoundError, version

VERL_VERSION = "0.9.1"
ROLLOUT_N_FIELD = "__rollout_n__"  # verl's own per-prompt sample count (agent_loop_tq pops it)


def installed_verl() -> str:
    try:
        return version("verl").split("+")[0]
    except PackageNotFoundError:
        return "not installed"


def version_mismatch() -> str | None:
    """One line when the installed verl is not the one these internals were written against."""
    have = installed_verl()
    if have == VERL_VERSION:
        return None
    return (f"verl {have} is installed; this project relies on internals of verl {VERL_VERSION} (core/verl_internals.py): "
            f"run scripts/bootstrap.sh --force, or set GRPO_SKIP_VERSION_CHECK=1 to try anyway")


# ---- samples in TransferQueue ------------------------------------------------------------------
def sample_uid(key: str) -> str:
    """The prompt uid of verl's sample key {uid}_{session}_{index}."""
    return key.rsplit("_", 2)[0]


def sample_session(key: str) -> tuple[int, int]:
    """(session, index) of a sample key: the order verl produced a group's samples in."""
    _, session, index = key.rsplit("_", 2)
    return int(session), int(index)


def reward_info(fields) -> dict:
    """The fields a reward returned beside its score, from one sample's TransferQueue extra_fields."""
    fields = getattr(fields, "data", fields)
    return fields.get("reward_extra_info", {}) if isinstance(fields, dict) else {}


def success_value(fields, key: str, reward: float) -> float:
    """A sample's "correct" value: the reward's `key` field (acc) when it gives one, else its summed reward."""
    value = reward_info(fields).get(key)
    return float(value) if isinstance(value, (bool, int, float)) else reward


# ---- the sync ReplayBuffer (verl/trainer/ppo/v1/replay_buffer.py) ------------------------------
def partition(buffer, partition_id: str) -> dict:
    """sample key -> its tags (response_len, ...), for the samples the buffer holds."""
    return buffer.partitions[partition_id]


def poll(buffer, partition_id: str) -> tuple[set, set]:
    """Bring the buffer up to date with TransferQueue: (finished sample keys, failed sample keys)."""
    buffer._sync_metadata_from_transfer_queue()
    return set(buffer.finished_keys[partition_id]), set(buffer.failure_keys[partition_id])


def wait_for_next_poll(buffer, partition_id: str, last_debug: float) -> float:
    return buffer._wait_for_next_poll(partition_id, last_debug)


def drop_group(buffer, partition_id: str, uid: str) -> None:
    """Remove a prompt and its samples from TransferQueue and the buffer, as verl's dynamic sampling
    evicts a group with no signal."""
    buffer._clear_groups(partition_id, {uid})


def take_batch(buffer, partition_id: str, settled: set, batch_size: int):
    """verl's own selection of `batch_size` settled groups and the batch made of them: (batch, selected
    uids); the batch is None when no selected group has a trajectory (all failed in the rollout)."""
    selected, snapshot, _ = buffer._select_prompt_uids(partition_id, settled, batch_size)
    if not any(sample_uid(key) in set(selected) for key in snapshot):
        return None, selected
    return buffer._materialize_batch(partition_id, selected, snapshot), selected


# ---- the TransferQueue agent loop (verl/trainer/ppo/v1/agent_loop_tq.py) -----------------------
def agent_loop_worker_class(edit_prompt, module: str, name: str):
    """verl's agent-loop worker class (its Ray actor's class) whose every prompt first goes through
    `edit_prompt(prompt, sampling_params) -> sampling_params` (the hook verl's `_run_prompt` lacks).
    Bind it to `name` at the top of `module`: Ray then ships it by reference, not by value."""
    from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopWorkerTQ

    class Worker(AgentLoopWorkerTQ.__ray_actor_class__):
        def __init__(self, *args, **kwargs):
            # Defined here, not inherited: Ray ships an inherited __init__ by value, and a copy of
            # verl's class in its closure then fails `super()` (it is not this instance's base).
            super().__init__(*args, **kwargs)

        async def _run_prompt(self, prompt: dict, sampling_params: dict, trajectory: dict, trace: bool = False) -> None:
            await super()._run_prompt(prompt, edit_prompt(prompt, sampling_params), trajectory, trace)

    Worker.__module__, Worker.__name__, Worker.__qualname__ = module, name, name
    return Worker


# ---- verl's math_dapo scorer, by file ----------------------------------------------------------
@functools.lru_cache(maxsize=1)
def verl_math_dapo():
    """verl's math_dapo scorer module, loaded from its file: it needs only `re`, while importing it
    as `verl.utils...` would import all of verl (torch included, seconds per scoring process)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("verl")
    path = Path(spec.submodule_search_locations[0]) / "utils" / "reward_score" / "math_dapo.py"
    module_spec = importlib.util.spec_from_file_location("_verl_math_dapo", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


# ---- the engine worker's reference config (verl/workers/engine_workers.py, init_model) ---------
def ref_as_verl_builds_it(cfg) -> None:
    """verl's worker renames the reference's log-prob keys to actor keys before it builds the typed
    config; do the same (in place) so a check sees what the worker sees."""
    from omegaconf import open_dict

    ref = cfg.actor_rollout_ref.ref
    with open_dict(ref):
        ref.ppo_mini_batch_size = cfg.actor_rollout_ref.actor.ppo_mini_batch_size
        ref.ppo_micro_batch_size = ref.pop("log_prob_micro_batch_size", None)
        ref.ppo_micro_batch_size_per_gpu = ref.pop("log_prob_micro_batch_size_per_gpu", None)
        ref.use_dynamic_bsz = ref.pop("log_prob_use_dynamic_bsz", False)
        ref.ppo_max_token_len_per_gpu = ref.pop("log_prob_max_token_len_per_gpu", None)


# ---- the v1 trainers (verl/trainer/ppo/v1/trainer_base.py) -------------------------------------
def registered_trainer(name: str):
    """The trainer class verl's v1 entry point runs for `trainer.mode=name` ("sync" by default)."""
    from verl.trainer.ppo.v1.trainer_base import TRAINER_REGISTRY

    return TRAINER_REGISTRY[name]


def replace_trainer(name: str, cls) -> None:
    """Run `cls` (a subclass of the class registered) for `name`: register_trainer refuses to
    re-register a name, so the table itself is written."""
    from verl.trainer.ppo.v1.trainer_base import TRAINER_REGISTRY

    if not issubclass(cls, TRAINER_REGISTRY[name]):
        raise TypeError(f"{cls.__name__} does not subclass verl's {name!r} trainer {TRAINER_REGISTRY[name].__name__}")
    TRAINER_REGISTRY[name] = cls


def save_checkpoint(trainer) -> None:
    """The trainer's own save of the current step (what its loop calls every save_freq steps)."""
    trainer._save_checkpoint()
