"""The verl 0.9.1 internals the GRPO options rely on where verl has no public hook for what they
need (grpo_ext/), pinned by name, signature or source: a verl upgrade that moves one fails here,
in one place, before a run fails inside Ray. (tests/e2e/test_e2e_grpo_ext.py checks the same paths
in a real run.)"""

import inspect


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_engine_scores_each_micro_batch_in_forward_step_and_the_loss_sees_its_rows_in_order():
    # engine.py sets the micro-batch around forward_step; policy_loss.py reads its fields by row
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead
    from verl.workers.utils import losses

    assert _params(FSDPEngineWithLMHead.forward_step) == ["self", "micro_batch", "loss_function", "forward_only"]
    assert "loss_function(\n                    model_output=model_output, data=micro_batch" in \
        inspect.getsource(FSDPEngineWithLMHead.forward_step)
    source = inspect.getsource(losses.ppo_loss)
    assert "data = data.select(*fields).to_padded_tensor()" in source  # same rows, same order
    assert "rollout_is_weights=rollout_is_weights" in source and "config=config" in source


def test_vanilla_loss_reads_the_clip_ratios_the_per_sample_config_replaces():
    from verl.trainer.ppo.core_algos import compute_policy_loss_vanilla

    source = inspect.getsource(compute_policy_loss_vanilla)
    for read in ("config.clip_ratio", "config.clip_ratio_low", "config.clip_ratio_high", 'config.get(  #',
                 "config.global_batch_info"):
        assert read in source, read


def test_advantage_rows_follow_the_sampled_batch_keys():
    # batch_step.STEP is aligned with batch.keys; the estimator checks uids against it
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    source = inspect.getsource(PPOTrainer._compute_advantage)
    assert "tq.kv_batch_get(keys=batch.keys" in source and '"rm_scores"' in source


def test_prompt_fields_travel_with_each_sample():
    # curriculum.ROW_FIELD, set by the dataset, is read back per sample from TransferQueue
    from verl.trainer.ppo.v1 import agent_loop_tq

    assert "field.update(kwargs)" in inspect.getsource(agent_loop_tq)


def test_unshuffled_data_is_read_in_order_and_the_dataset_state_is_checkpointed():
    from torchdata.stateful_dataloader import stateful_dataloader
    from verl.trainer.ppo import utils

    assert "SequentialSampler(data_source=dataset)" in inspect.getsource(utils.create_rl_sampler)
    assert "try_to_serialize(self._dataset_fetcher.dataset)" in inspect.getsource(stateful_dataloader)
    assert "max_samples=max_samples" in inspect.getsource(utils.create_rl_dataset)


def test_single_turn_loop_helpers_the_prefix_loop_uses():
    from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop

    assert hasattr(SingleTurnAgentLoop, "ct_build_initial_tokens")
    source = inspect.getsource(SingleTurnAgentLoop.run)
    assert "self.server_manager.generate(" in source and "self.response_length" in source
