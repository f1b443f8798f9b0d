"""Extensions of verl's v1 trainer through its hooks (custom sampler). The adaptive-GRPO
resampling sampler builds on replay_buffer.QuickPollReplayBuffer."""
