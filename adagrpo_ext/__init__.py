"""Adaptive GRPO through verl's hooks: a resampling sampler (builds on
trainer_hooks.replay_buffer.QuickPollReplayBuffer), an agent-loop manager, an advantage estimator
and an FSDP engine, meeting on bridge.BRIDGE. The A/B driver is bench/adagrpo_ab.py."""
