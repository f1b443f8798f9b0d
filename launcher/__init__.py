"""`train.sh`'s engine: friendly flags and env vars -> Hydra overrides -> verl's main_ppo."""
