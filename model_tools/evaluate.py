"""`./eval.sh MODEL --data FILE`: greedy accuracy and, with --n K, mean@K, pass@k and maj@K,
overall and per data_source. Writes results.json and samples.jsonl (RUN/eval/step_N/ by default)."""

import argparse
import json
import sys
import time
from pathlib import Path

from core.errors import UsageError
from reward.spec import parse_weights, weights_mismatch

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="eval.sh", description="Greedy accuracy and, with --n K, mean@K, pass@k and maj@K of a model, "
                                 "overall and per data_source.")
    p.add_argument("model", metavar="MODEL", help="run folder, checkpoint folder, Hugging Face folder or hub id")
    p.add_argument("--data", help="parquet (verl's schema), data_prep folder or JSON/JSONL/CSV; "
                                  "default for a run: its validation files")
    p.add_argument("--n", type=int, default=0, metavar="K", help="also sample K responses per problem")
    p.add_argument("--temperature", type=float, default=1.0, help="for the K samples (greedy is always 0)")
    p.add_argument("--top_p", type=float, default=1.0)
    p.add_argument("--max_response_length", type=int, help="default: the run's, else 1024")
    p.add_argument("--step", type=int, help="a run's checkpoint of this step (default: the latest)")
    p.add_argument("--out", help="default: RUN/eval/step_N/, else outputs/eval/<model>/")
    p.add_argument("--n_gpus", type=int, help="default: every visible GPU (0 on a machine without)")
    p.add_argument("--tp", type=int, default=1, help="tensor parallel size (GPUs per engine)")
    p.add_argument("--reward_func", action="append", default=[], metavar="PATH[:NAME]", help="as train.sh")
    p.add_argument("--reward_weights", help="as train.sh")
    p.add_argument("--pass_threshold", type=float, default=1.0,
                   help="a sample counts as solved (pass@k, maj@K) when its accuracy (the scorer's acc, else its "
                        "score) reaches this")
    p.add_argument("--limit", type=int, help="only the first N problems")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.n < 0 or args.n == 1:
        p.error("--n: 2 or more samples per problem (greedy accuracy is always reported)")
    if args.tp < 1:
        p.error("--tp: 1 or more")
    return args


def _reward_weights(args) -> list[float] | None:
    if not args.reward_weights:
        return None
    try:
        weights = parse_weights(args.reward_weights)
    except ValueError as err:
        raise UsageError(f"--reward_weights: invalid value {args.reward_weights!r} ({err})") from None
    if why := weights_mismatch(weights, args.reward_func):
        raise UsageError(why)
    return weights


def _out_dir(args, source) -> Path:
    if args.out:
        return Path(args.out).expanduser()
    if source.run_dir is not None:
        return source.run_dir / "eval" / f"step_{source.step}"
    name = Path(source.given.rstrip("/")).name if Path(source.given).exists() else source.given.replace("/", "--")
    return REPO / "outputs" / "eval" / name


def _prompt_ids(model: str, problems: list[dict], chat_kwargs: dict) -> list[list[int]]:
    """The prompt as the trainer's agent loop renders it: verl's chat-template helper."""
    from transformers import AutoTokenizer
    from verl.utils.tokenizer.chat_template import apply_chat_template
    from verl.utils.tokenizer.tokenizer import normalize_token_ids

    tokenizer = AutoTokenizer.from_pretrained(model)
    return [normalize_token_ids(apply_chat_template(tokenizer, p["messages"], tokenize=True,
                                                    add_generation_prompt=True, **chat_kwargs))
            for p in problems]


def _fit_context(model: str, max_prompt: int, max_tokens: int) -> int:
    """Responses shortened to what the model's context holds after the longest prompt (vLLM refuses
    a longer max_model_len), with a note; none fits: one line."""
    from transformers import AutoConfig

    limit = getattr(AutoConfig.from_pretrained(model), "max_position_embeddings", None)
    if limit is None or max_prompt + max_tokens <= limit:
        return max_tokens
    if max_prompt >= limit:
        raise UsageError(f"--data: the longest prompt has {max_prompt} tokens; the model's context is {limit}")
    print(f"note: responses capped at {limit - max_prompt} tokens (context {limit}, longest prompt {max_prompt}); "
          f"--max_response_length to choose", file=sys.stderr)
    return limit - max_prompt


def _by_source(problems, rows, fn) -> dict:
    sources = sorted({p["data_source"] for p in problems})
    return {s: fn([r for p, r in zip(problems, rows) if p["data_source"] == s]) for s in sources}


def evaluate(args) -> dict:
    from core.gpus import count_gpus

    from . import generate as G
    from .eval_data import data_file, load_problems
    from .merge import loadable_folder
    from .run_info import run_config, run_value
    from .sample_metrics import summarise
    from .scoring import reward_config, score_all
    from .source import resolve

    source = resolve(args.model, args.step)
    run_cfg = run_config(source.run_dir)
    run_val = run_value(run_cfg, "data", "val_files", default=[])
    data = args.data or ",".join([run_val] if isinstance(run_val, str) else run_val)
    if not data:
        raise UsageError("--data: which problems? (a parquet file, a data_prep folder or a JSON/JSONL file)")
    files = [data_file(d, REPO / "outputs") for d in data.split(",")]
    prompt_key = run_value(run_cfg, "data", "prompt_key", default="prompt")
    problems = [p for f in files for p in load_problems(f, prompt_key, args.limit)]
    cfg = reward_config(run_cfg, args.reward_func, _reward_weights(args))
    max_tokens = args.max_response_length or run_value(run_cfg, "data", "max_response_length", default=1024)
    n_gpus = count_gpus() if args.n_gpus is None else args.n_gpus
    if n_gpus and n_gpus % args.tp:
        raise UsageError(f"--tp {args.tp}: does not divide --n_gpus {n_gpus}")
    out = _out_dir(args, source)

    model = loadable_folder(source)
    prompts = _prompt_ids(model, problems, run_value(run_cfg, "data", "apply_chat_template_kwargs", default={}))
    max_prompt = max(map(len, prompts))
    max_tokens = _fit_context(model, max_prompt, max_tokens)
    engine = G.Engine(model, n_gpus, args.tp, max_model_len=max_prompt + max_tokens, seed=args.seed)
    print(f"evaluating {source.describe()} on {len(problems)} problem(s) from {', '.join(map(str, files))} "
          f"({'CPU' if not n_gpus else f'{n_gpus} GPU(s), tp {args.tp}'}); max {max_tokens} response tokens",
          file=sys.stderr)
    t0 = time.time()
    runs = [("greedy", G.Sampling(1, 0.0, 1.0, max_tokens))]
    if args.n:
        runs.append(("sampled", G.Sampling(args.n, args.temperature, args.top_p, max_tokens)))
    generated = dict(zip([name for name, _ in runs], G.generate(engine, prompts, [s for _, s in runs])))
    gen_seconds = time.time() - t0
    scored = {name: score_all(cfg, problems, responses, args.pass_threshold) for name, responses in generated.items()}

    greedy = [s[0].accuracy for s in scored["greedy"]]
    results = {"model": source.describe(), "data": [str(f) for f in files], "n_problems": len(problems),
               "greedy_accuracy": sum(greedy) / len(greedy), "max_response_length": max_tokens}
    per_source = _by_source(problems, greedy, lambda rows: {"n_problems": len(rows),
                                                               "greedy_accuracy": sum(rows) / len(rows)})
    if args.n:
        rows = [{"accuracy": [s.accuracy for s in ss], "correct": [s.correct for s in ss],
                 "answers": [s.answer for s in ss]} for ss in scored["sampled"]]
        results.update(n=args.n, temperature=args.temperature, top_p=args.top_p, **summarise(rows, args.n))
        for src, metrics in _by_source(problems, rows, lambda r: summarise(r, args.n)).items():
            per_source[src].update(metrics)
    results["per_data_source"] = per_source
    results["seconds"] = {"generation": round(gen_seconds, 1), "total": round(time.time() - t0, 1)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    with open(out / "samples.jsonl", "w") as f:
        for i, problem in enumerate(problems):
            row = {"index": problem["index"], "data_source": problem["data_source"], "prompt": problem["messages"],
                   "ground_truth": problem["ground_truth"]}
            for name in generated:
                row[name] = [{"response": r["text"], "answer": s.answer, "score": s.score, "accuracy": s.accuracy,
                              "correct": s.correct}
                             for r, s in zip(generated[name][i], scored[name][i])]
            f.write(json.dumps(row, default=str) + "\n")
    results["out"] = str(out)
    return results


def table(results: dict) -> str:
    cols = ["greedy_accuracy"] + (["mean_at_k", "maj_at_k"] if "n" in results else [])
    ks = list(results.get("pass_at_k", {}))
    head = ["data_source", "problems", "greedy"] + ([f"mean@{results['n']}", f"maj@{results['n']}"]
                                                    if "n" in results else []) + [f"pass@{k}" for k in ks]
    rows = [[src, str(m["n_problems"])] + [f"{m[c]:.1%}" for c in cols] + [f"{m['pass_at_k'][k]:.1%}" for k in ks]
            for src, m in results["per_data_source"].items()]
    if len(rows) > 1:
        rows.append(["all", str(results["n_problems"])] + [f"{results[c]:.1%}" for c in cols]
                    + [f"{results['pass_at_k'][k]:.1%}" for k in ks])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in [head] + rows)


def main(argv=None) -> int:
    import os

    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # its progress bar stays; set INFO to see the engine's log
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        results = evaluate(args)
    except (UsageError, ValueError, OSError) as err:  # vLLM's config errors are several lines: the first says it
        # (OSError: transformers on a hub id that is unknown or unreachable)
        lines = str(err).strip().splitlines() or [type(err).__name__]
        where = f"{args.model}: " if isinstance(err, OSError) else ""
        print(f"eval.sh: error: {where}{' '.join(lines[:2]) if len(lines[0]) < 60 else lines[0]}", file=sys.stderr)
        return 2
    print(table(results))
    print(f"results: {results['out']}/results.json  samples: {results['out']}/samples.jsonl  "
          f"({results['seconds']['total']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
