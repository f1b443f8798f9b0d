"""TRL's GRPOTrainer on the task and settings of `--preset smollm2`, for the side-by-side in
bench/peer_compare.py. Runs in TRL's own venv (bench/peer_compare.py makes it: TRL 1.16 over the
project's torch, transformers and vLLM, so both sides run the same versions of those).

    outputs/bench/trl-venv/bin/python bench/trl_grpo.py --steps 10 --seed 1 --out outputs/bench/peer/trl-seed1

What "the same settings" means, key by key (verl's, from configs/preset/smollm2.yaml and verl's
defaults -> TRL's GRPOConfig):
- 4 prompts x 8 responses a step, two updates from them: per_device_train_batch_size 16,
  steps_per_generation 2 (one generation of 32 serves two optimizer steps); --steps counts verl
  steps, so TRL runs 2 x steps optimizer steps.
- responses up to 32 tokens at temperature 0.7, top-p 1; lr 1e-5 constant, AdamW weight decay 0.01,
  gradient clipping 1.0 (verl's actor optim defaults); clip 0.2; no KL (beta 0, no reference);
  loss aggregation token-mean (verl's default) = TRL's loss_type "dapo"; advantages scaled by the
  group's std (scale_rewards "group" = verl's norm_adv_by_std_in_grpo).
- reward: the project's math scorer's accuracy, the same function verl calls.
- generation: vLLM in colocate mode (float32, every core, as verl's CPU rollout runs) with
  --generation vllm, else transformers' generate.
Validation: greedy on the same 128 validation problems before training and every --test_freq steps,
with transformers' generate (its time is not counted in the step times). Writes metrics.jsonl (one
record per verl-equivalent step) and the final model to OUT/model for eval.sh.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def load_rows(path: str) -> list[dict]:
    import pandas as pd

    rows = pd.read_parquet(path).to_dict("records")
    return [{"prompt": [dict(m) for m in r["prompt"]], "ground_truth": r["reward_model"]["ground_truth"]}
            for r in rows]


class Counter:
    """What the reward function saw: generated tokens and accuracy per generation batch."""

    def __init__(self):
        self.tokens, self.batches = 0, []

    def reward(self):
        from reward import compute_score

        def math_accuracy(completions, ground_truth, completion_ids, **kwargs):
            scores = [float(compute_score("math", c[0]["content"], t)["acc"]) for c, t in zip(completions, ground_truth)]
            tokens = sum(len(ids) for ids in completion_ids)
            self.tokens += tokens
            # TRL repeats each prompt num_generations times in a row: consecutive groups of 8
            groups = [set(scores[i:i + 8]) for i in range(0, len(scores), 8)]
            self.batches.append({"tokens": tokens, "acc": sum(scores) / len(scores),
                                 "mean_length": tokens / len(scores),
                                 "zero_signal": sum(len(g) == 1 for g in groups) / len(groups)})
            return scores

        return math_accuracy


def greedy_accuracy(model, tokenizer, rows: list[dict], max_new_tokens: int, batch: int = 64) -> float:
    import torch

    from reward import compute_score

    tokenizer.padding_side = "left"
    right = 0
    model.eval()
    for i in range(0, len(rows), batch):
        chunk = rows[i:i + batch]
        texts = [tokenizer.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in chunk]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        for r, ids in zip(chunk, out[:, enc["input_ids"].shape[1]:]):
            text = tokenizer.decode(ids, skip_special_tokens=True)
            right += compute_score("math", text, r["ground_truth"])["acc"]
    model.train()
    return right / len(rows)


def float32_vllm(matmul_precision: str) -> None:
    """TRL builds vLLM's LLM with the model's dtype left to vLLM ("auto": bf16 on this CPU, 3x slower
    here); verl's CPU rollout runs float32 with every core bound, so this does too. vLLM runs in
    this process (colocate), so the fp32 matmul precision its plugin applies is TRL's training's too:
    set here explicitly (TRL's own default is "highest")."""
    from verl_cpu.matmul import ENV
    from verl_cpu.vllm_env import vllm_cpu_env

    os.environ[ENV] = matmul_precision
    os.environ.update(vllm_cpu_env())
    import trl.generation.vllm_generation as gen

    base = gen.LLM

    def llm(*args, **kwargs):
        kwargs.setdefault("dtype", "float32")
        return base(*args, **kwargs)

    gen.LLM = llm


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(REPO / "outputs" / "models" / "SmolLM2-135M-Instruct"))
    p.add_argument("--data", default=str(REPO / "outputs" / "smollm2" / "train.parquet"))
    p.add_argument("--val", default=str(REPO / "outputs" / "smollm2" / "val.parquet"))
    p.add_argument("--steps", type=int, default=10, help="verl-equivalent steps (4 prompts x 8, two updates each)")
    p.add_argument("--test_freq", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--generation", choices=("vllm", "hf"), default="vllm")
    p.add_argument("--matmul_precision", choices=("highest", "medium"), default="highest",
                   help="torch's fp32 matmul precision: highest is TRL's default; medium is what our CPU plan "
                        "chooses where the CPU has bf16 units (verl_cpu/matmul.py)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch_threads = len(os.sched_getaffinity(0))
    os.environ.setdefault("OMP_NUM_THREADS", str(torch_threads))
    if args.generation == "vllm":
        # TRL's colocate mode runs vLLM inside this process as a one-rank "external launcher" group
        os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
                           "MASTER_PORT": os.environ.get("MASTER_PORT", "29533")})
        float32_vllm(args.matmul_precision)

    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    torch.set_num_threads(torch_threads)
    torch.set_float32_matmul_precision(args.matmul_precision)
    train = Dataset.from_list(load_rows(args.data))
    val_rows = load_rows(args.val)
    counter = Counter()
    config = GRPOConfig(
        output_dir=str(args.out / "trl"), use_cpu=True, bf16=False, seed=args.seed, data_seed=args.seed,
        max_steps=2 * args.steps, per_device_train_batch_size=16, gradient_accumulation_steps=1,
        steps_per_generation=2, num_generations=8, max_completion_length=32, temperature=0.7, top_p=1.0,
        learning_rate=1e-5, lr_scheduler_type="constant", weight_decay=0.01, max_grad_norm=1.0, epsilon=0.2,
        beta=0.0, loss_type="dapo", scale_rewards="group", num_iterations=1,
        use_vllm=args.generation == "vllm", vllm_mode="colocate", vllm_gpu_memory_utilization=0.3,
        vllm_max_model_length=256, vllm_enable_sleep_mode=False,
        logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True, dataloader_num_workers=0)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    records: list[dict] = []
    metrics_path = args.out / "metrics.jsonl"
    metrics_path.unlink(missing_ok=True)

    def write(step: int, data: dict) -> None:
        records.append({"step": step, "data": data})
        with metrics_path.open("a") as f:
            f.write(json.dumps({"step": step, "data": data}) + "\n")

    class StepClock(TrainerCallback):
        """One record per two optimizer steps (a verl step): its wall time, tokens, reward, validation."""

        def __init__(self):
            self.start = None

        def on_step_begin(self, targs, state, control, **kw):
            if state.global_step % 2 == 0:
                self.start = time.perf_counter()

        def on_step_end(self, targs, state, control, **kw):
            if state.global_step % 2:
                return
            step = state.global_step // 2
            batch = counter.batches[-1]
            data = {"timing_s/step": time.perf_counter() - self.start, "generated_tokens": batch["tokens"],
                    "critic/score/mean": batch["acc"], "response_length/mean": batch["mean_length"],
                    "zero_signal_group_frac": batch["zero_signal"]}
            if args.test_freq > 0 and (step % args.test_freq == 0 or step == args.steps):
                data["val-core/math/acc/mean@1"] = greedy_accuracy(kw["model"], tokenizer, val_rows, 32)
            write(step, data)
            print(f"trl step {step}/{args.steps}  reward {batch['acc']:.3f}  {data['timing_s/step']:.1f} s"
                  + (f"  val {data['val-core/math/acc/mean@1']:.1%}" if "val-core/math/acc/mean@1" in data else ""),
                  flush=True)

    start = time.perf_counter()
    write(0, {"val-core/math/acc/mean@1": greedy_accuracy(model, tokenizer, val_rows, 32)})
    print(f"trl step 0  val {records[0]['data']['val-core/math/acc/mean@1']:.1%}", flush=True)
    trainer = GRPOTrainer(model=model, reward_funcs=[counter.reward()], args=config, train_dataset=train,
                          processing_class=tokenizer, callbacks=[StepClock()])
    trainer.train()
    trainer.save_model(str(args.out / "model"))
    tokenizer.save_pretrained(str(args.out / "model"))
    (args.out / "run.json").write_text(json.dumps({"wall_s": time.perf_counter() - start, "generation": args.generation,
                                                   "generated_tokens": counter.tokens, "seed": args.seed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
