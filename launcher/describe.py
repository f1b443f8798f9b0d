"""The plan in a few lines, printed before a run and at the top of a dry-run."""


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def plan_lines(plan) -> list[str]:
    from .hardware import per_gpu_responses, world_size

    cfg = plan.cfg
    trainer, data, arr = cfg.trainer, cfg.data, cfg.actor_rollout_ref
    world, n, batch = world_size(cfg), int(arr.rollout.n), int(data.train_batch_size)
    nodes = int(trainer.nnodes)
    where = (f"{int(trainer.n_gpus_per_node)} GPU(s)" + (f" x {nodes} nodes" if nodes > 1 else "")
             if plan.gpu else f"CPU, {world} worker(s)")
    lines = [f"plan: {where}; rollout tensor-parallel {int(arr.rollout.tensor_model_parallel_size)}; "
             f"{cfg.algorithm.adv_estimator} ({', '.join(plan.presets)})"]
    if plan.total_steps is None:
        steps = f"{int(trainer.total_epochs)} epoch(s)"
    elif trainer.get("total_training_steps"):
        steps = f"{plan.total_steps} steps"
    else:
        steps = (f"{plan.total_steps} steps ({_n(plan.train_rows)} rows // {batch} prompts x "
                 f"{int(trainer.total_epochs)} epochs)")
    per_gpu = per_gpu_responses(cfg)
    lines.append(f"  {steps}; {batch} prompts x {n} = {batch * n} responses per step, {per_gpu['forward']} per GPU; "
                 f"mini-batch {int(arr.actor.ppo_mini_batch_size)} prompts ({per_gpu['update']} responses per GPU)")
    if arr.actor.get("use_dynamic_bsz"):
        lines.append(f"  dynamic batches: {_n(int(arr.actor.ppo_max_token_len_per_gpu))} tokens per GPU for updates, "
                     f"{_n(int(arr.rollout.log_prob_max_token_len_per_gpu))} for log-probs")
    else:
        lines.append(f"  micro-batches per GPU: update {int(arr.actor.ppo_micro_batch_size_per_gpu)}, old log-probs "
                     f"{int(arr.rollout.log_prob_micro_batch_size_per_gpu)}, reference "
                     f"{int(arr.ref.log_prob_micro_batch_size_per_gpu)}")
    if plan.changes:
        chosen = ", ".join(f"{c.key.removeprefix('actor_rollout_ref.')} {'' if c.old is None else f'{c.old} -> '}"
                           f"{_n(c.new)}" for c in plan.changes)
        lines.append(f"  fitted by the launcher (not set by you): {chosen}")
    save, keep = int(trainer.save_freq), trainer.get("max_actor_ckpt_to_keep")
    if save > 0:
        kept = f", keeping the last {keep}" if keep else ""
        lines.append(f"  checkpoints: every {'step' if save == 1 else f'{save} steps'} and at the last{kept}; "
                     f"validation: {'every ' + str(trainer.test_freq) + ' steps' if trainer.test_freq > 0 else 'off'}")
    else:
        lines.append("  checkpoints: none (save_freq -1): nothing to evaluate, export or resume afterwards")
    lines += [f"  {note}" for note in plan.notes]
    lines.append(f"  run folder: {plan.run_dir}")
    return lines

