"""Generation with vLLM's offline engine: tensor parallel inside one engine, data parallel as one
engine per group of `tp` GPUs (each in its own process, with its own CUDA_VISIBLE_DEVICES). On a
machine without a GPU, vLLM-CPU (with the verl_cpu plugin the trainer's rollout uses)."""

import os
from dataclasses import dataclass


@dataclass
class Engine:
    model: str
    n_gpus: int  # 0: CPU
    tp: int = 1
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.85
    seed: int = 0

    @property
    def replicas(self) -> int:
        return max(1, self.n_gpus // self.tp) if self.n_gpus else 1


@dataclass
class Sampling:
    n: int
    temperature: float
    top_p: float
    max_tokens: int


def _engine_kwargs(engine: Engine) -> dict:
    kwargs = dict(model=engine.model, seed=engine.seed, max_model_len=engine.max_model_len)
    if engine.n_gpus:
        kwargs.update(tensor_parallel_size=engine.tp, gpu_memory_utilization=engine.gpu_memory_utilization)
    else:
        from verl_cpu.vllm_env import vllm_cpu_env

        os.environ.update(vllm_cpu_env())
        # fp32: vLLM's "auto" casts an fp32 model to bf16, which CPUs without AVX512-BF16 run
        # 3-5x slower (preset cpu sets the same for the rollout)
        kwargs.update(enforce_eager=True, dtype="float32")
    return kwargs


def _generate_here(engine: Engine, prompts: list[list[int]], samplings: list[Sampling], progress: bool) -> list:
    from vllm import LLM, SamplingParams, TokensPrompt

    llm = LLM(**_engine_kwargs(engine))
    results = []
    for sampling in samplings:
        # the engine's seed, not a per-request one: vLLM rewinds a seeded request's generator when it
        # discards a partial-prefill token, which a CPU generator cannot do ("does not use offset")
        params = SamplingParams(n=sampling.n, temperature=sampling.temperature, top_p=sampling.top_p,
                                max_tokens=sampling.max_tokens)
        outputs = llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in prompts], params, use_tqdm=progress)
        results.append([[{"text": c.text, "token_ids": list(c.token_ids)} for c in out.outputs] for out in outputs])
    return results


def _replica(args) -> list:
    engine, devices, prompts, samplings, progress = args
    os.environ["CUDA_VISIBLE_DEVICES"] = devices  # before vLLM (and torch) are imported in this process
    return _generate_here(engine, prompts, samplings, progress)


def generate(engine: Engine, prompts: list[list[int]], samplings: list[Sampling], progress: bool = True) -> list:
    """One engine start; for each sampling, for each prompt (token ids), `sampling.n` responses as
    {"text", "token_ids"}."""
    if engine.replicas == 1:
        return _generate_here(engine, prompts, samplings, progress)
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = visible.split(",") if visible else [str(i) for i in range(engine.n_gpus)]
    shards = [prompts[r::engine.replicas] for r in range(engine.replicas)]
    jobs = [(engine, ",".join(ids[r * engine.tp:(r + 1) * engine.tp]), shard, samplings, progress and r == 0)
            for r, shard in enumerate(shards)]
    with ProcessPoolExecutor(len(jobs), mp_context=mp.get_context("spawn")) as pool:
        per_replica = list(pool.map(_replica, jobs))
    merged = []
    for s in range(len(samplings)):
        out: list = [None] * len(prompts)
        for r, result in enumerate(per_replica):
            out[r::engine.replicas] = result[s]
        merged.append(out)
    return merged
