"""The verl internals core/verl_internals.py relies on, pinned by name and signature against the verl
it names (VERL_VERSION): a verl upgrade that moves any of them fails here, in one place, before a run
can fail inside Ray. Also the registries and public hooks the extensions plug into."""

import inspect
from pathlib import Path

import pytest

from core import verl_internals


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_the_internals_module_names_the_installed_verl():
    assert verl_internals.installed_verl() == verl_internals.VERL_VERSION
    assert verl_internals.version_mismatch() is None
    assert f"verl {verl_internals.VERL_VERSION}" in verl_internals.__doc__


def test_nothing_outside_the_internals_module_calls_verls_private_replay_buffer_or_agent_loop():
    repo = Path(__file__).resolve().parents[2]
    private = ("_sync_metadata_from_transfer_queue", "_wait_for_next_poll", "_select_prompt_uids",
               "_materialize_batch", "_clear_groups", ".partitions[", ".finished_keys", ".failure_keys",
               "__ray_actor_class__",
               "_run_prompt", "math_dapo.py", 'ref.pop("log_prob', '"__rollout_n__"',
               'rsplit("_", 2)', '"reward_extra_info"', "TRAINER_REGISTRY", "._save_checkpoint(")
    found = [f"{path.relative_to(repo)}: {name}" for path in repo.glob("*/**/*.py")
             if path.parts[len(repo.parts)] not in ("tests", ".venv", "outputs", "core") for name in private
             if name in path.read_text()]
    assert not found, found


def test_sample_keys_and_reward_fields_as_verl_writes_them():
    assert verl_internals.sample_uid("3f2a-uid_0_1") == "3f2a-uid"
    assert verl_internals.sample_session("3f2a_uid_2_11") == (2, 11)
    assert verl_internals.reward_info({"reward_extra_info": {"acc": 1.0}}) == {"acc": 1.0}
    assert verl_internals.success_value({"reward_extra_info": {"acc": 0.0}}, "acc", 0.7) == 0.0
    assert verl_internals.success_value({}, "acc", 0.7) == 0.7


def test_verls_math_dapo_file_loads_without_importing_verl():
    module = verl_internals.verl_math_dapo()
    assert module.normalize_final_answer("\\text{5 cm}") == "5"


def test_the_worker_class_keeps_the_name_ray_ships_it_by():
    from adagrpo_ext import agent_loop

    cls = agent_loop._AdaAgentLoopWorker
    assert (cls.__module__, cls.__qualname__) == ("adagrpo_ext.agent_loop", "_AdaAgentLoopWorker")
    assert "_run_prompt" in vars(cls) and "__init__" in vars(cls)


def test_replay_buffer_internals():
    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer

    assert "poll_interval" in _params(ReplayBuffer.__init__) and "sampler_kwargs" in _params(ReplayBuffer.__init__)
    assert _params(ReplayBuffer.sample) == ["self", "global_steps", "partition_id", "batch_size"]
    assert _params(ReplayBuffer._select_prompt_uids) == ["self", "partition_id", "sampleable_keys", "batch_size"]
    assert _params(ReplayBuffer._materialize_batch) == ["self", "partition_id", "selected_prompt_uids",
                                                        "partition_snapshot"]
    assert _params(ReplayBuffer._wait_for_next_poll) == ["self", "partition_id", "last_debug_time"]
    assert _params(ReplayBuffer._sync_metadata_from_transfer_queue) == ["self"]
    assert _params(ReplayBuffer._clear_groups) == ["self", "partition_id", "uids"]
    assert "refill_fn" in _params(ReplayBuffer.__init__)
    source = inspect.getsource(ReplayBuffer)
    for attribute in ("self.partitions", "self.finished_keys", "self.failure_keys", "self.trainer_mode",
                      "self.sampler_kwargs"):
        assert attribute in source, attribute


def test_agent_loop_internals():
    from verl.trainer.ppo.v1 import agent_loop_tq
    from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopManagerTQ, AgentLoopWorkerTQ

    worker = AgentLoopWorkerTQ.__ray_actor_class__
    assert _params(worker._run_prompt)[:5] == ["self", "prompt", "sampling_params", "trajectory", "trace"]
    assert _params(AgentLoopManagerTQ.generate_sequences) == ["self", "prompts"]
    source = inspect.getsource(agent_loop_tq)
    assert 'prompt.pop("__rollout_n__"' in source  # verl's own per-prompt n, which resample() sets
    for attribute in ("agent_loop_workers_class", "agent_loop_workers"):
        assert attribute in inspect.getsource(AgentLoopManagerTQ.__mro__[1]) + source, attribute


def test_engine_hook_the_temperature_engine_overrides():
    from verl.workers.engine.fsdp import transformer_impl
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

    assert _params(FSDPEngineWithLMHead.prepare_model_inputs) == ["self", "micro_batch"]
    assert 'micro_batch["temperature"]' in inspect.getsource(transformer_impl) or \
        "temperature" in inspect.getsource(FSDPEngineWithLMHead.prepare_model_inputs)


def test_registries_and_transfer_queue_calls():
    import transfer_queue as tq
    from verl.trainer.ppo.core_algos import get_adv_estimator_fn, register_adv_est
    from verl.utils import tensordict_utils as tu
    from verl.workers.engine.base import EngineRegistry

    import adagrpo_ext.advantage  # noqa: F401  (registers "adagrpo")

    assert callable(register_adv_est) and get_adv_estimator_fn("adagrpo") is not None
    assert "vendor" in _params(EngineRegistry.register)
    for name in ("kv_batch_get", "kv_clear", "kv_put"):
        assert callable(getattr(tq, name)), name
    assert {"keys", "partition_id", "select_fields"} <= set(_params(tq.kv_batch_get))
    for name in ("get_non_tensor_data", "assign_non_tensor_data"):
        assert callable(getattr(tu, name)), name


@pytest.mark.parametrize("module", ["adagrpo_ext.sampler", "adagrpo_ext.agent_loop", "adagrpo_ext.advantage"])
def test_the_hooks_meet_only_on_the_bridge(module):
    import importlib

    source = inspect.getsource(importlib.import_module(module))
    assert "global " not in source and "BRIDGE" in source


def test_the_trainer_registry_and_its_private_save():
    from verl.trainer.ppo.v1 import PPOTrainerSync
    from verl.trainer.ppo.v1.trainer_base import TRAINER_REGISTRY, PPOTrainer

    assert issubclass(verl_internals.registered_trainer("sync"), PPOTrainerSync)
    assert _params(PPOTrainer._save_checkpoint) == ["self"]
    with pytest.raises(TypeError, match="does not subclass"):
        verl_internals.replace_trainer("sync", PPOTrainer)
    assert TRAINER_REGISTRY["sync"] is not PPOTrainer
