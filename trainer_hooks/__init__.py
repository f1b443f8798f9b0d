"""Our plug-ins into verl's trainer that every run uses (whatever the algorithm): selected in
configs/grpo_trainer.yaml through verl's own hooks."""
