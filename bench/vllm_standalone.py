"""Standalone vLLM generation rate on given prompts: the denominator of G1 (rollout efficiency).

    .venv/bin/python bench/vllm_standalone.py --model M --prompts prompts.json --n 5 --max_tokens 256 \
        [--gpu_memory_utilization 0.6] [--enforce_eager]

prompts.json: a list of prompt token-id lists (the chat-templated prompts verl rolled out).
Prints one JSON line: generated tokens, seconds, tokens/s (after one warm-up call).
"""

import argparse
import json
import time


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--prompts", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--max_tokens", type=int, required=True)
    p.add_argument("--gpu_memory_utilization", type=float, default=0.6)
    p.add_argument("--max_model_len", type=int, default=None)
    p.add_argument("--enforce_eager", action="store_true")
    p.add_argument("--dtype", default="auto", help="the rollout's dtype (verl: actor_rollout_ref.rollout.dtype)")
    args = p.parse_args()

    from vllm import LLM, SamplingParams, TokensPrompt

    prompts = [TokensPrompt(prompt_token_ids=ids) for ids in json.loads(open(args.prompts).read())]
    llm = LLM(model=args.model, gpu_memory_utilization=args.gpu_memory_utilization, enforce_eager=args.enforce_eager,
              max_model_len=args.max_model_len, seed=0, dtype=args.dtype)
    params = SamplingParams(n=args.n, max_tokens=args.max_tokens, ignore_eos=True, temperature=1.0)
    llm.generate(prompts[:1], params, use_tqdm=False)  # warm-up
    start = time.perf_counter()
    outputs = llm.generate(prompts, params, use_tqdm=False)
    seconds = time.perf_counter() - start
    tokens = sum(len(c.token_ids) for o in outputs for c in o.outputs)
    print(json.dumps({"generated_tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds}))


if __name__ == "__main__":
    main()
