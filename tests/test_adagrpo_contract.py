"""The verl 0.9.1 internals adaGRPO's bridge relies on (adagrpo_ext/bridge.py, sampler.py,
agent_loop.py, temperature_engine.py), pinned by name and signature: a verl upgrade that moves any
of them fails here, in one place, before a run can fail inside Ray."""

import inspect

import pytest


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_replay_buffer_internals_the_sampler_uses():
    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer

    assert "poll_interval" in _params(ReplayBuffer.__init__) and "sampler_kwargs" in _params(ReplayBuffer.__init__)
    assert _params(ReplayBuffer.sample) == ["self", "global_steps", "partition_id", "batch_size"]
    assert _params(ReplayBuffer._select_prompt_uids) == ["self", "partition_id", "sampleable_keys", "batch_size"]
    assert _params(ReplayBuffer._materialize_batch) == ["self", "partition_id", "selected_prompt_uids",
                                                        "partition_snapshot"]
    assert _params(ReplayBuffer._wait_for_next_poll) == ["self", "partition_id", "last_debug_time"]
    assert _params(ReplayBuffer._sync_metadata_from_transfer_queue) == ["self"]
    source = inspect.getsource(ReplayBuffer)
    for attribute in ("self.partitions", "self.finished_keys", "self.failure_keys", "self.trainer_mode",
                      "self.sampler_kwargs"):
        assert attribute in source, attribute


def test_agent_loop_internals_the_manager_uses():
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
