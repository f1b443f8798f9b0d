"""The `prefix_guided` agent loop (verl's agent-loop registry, `agent_loop_config_path`): the
rollout continues a prefix stored in the prompt's data (`extra_info.prefix`, written by
`data_prep ... --prefix-file`), e.g. the opening of a stronger model's solution.

The prefix tokens become the start of the response with response_mask 0 (as verl masks tool
output in multi-turn rollouts), so the reward scores prefix + continuation while the policy loss,
KL and entropy cover only the tokens the model generated; the `grpo_ext` policy loss can add an
SFT term on the prefix tokens (grpo_ext.prefix.sft_coef). With probability `grpo_ext.prefix.dropout`
a sample is drawn without its prefix. Prompts without a prefix run as verl's single-turn loop.
"""

import random
from uuid import uuid4

from verl.experimental.agent_loop.agent_loop import AgentLoopOutput
from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop
from verl.utils.profiler import simple_timer

NAME = "prefix_guided"
PREFIX_KEY = "prefix"


def prefix_of(kwargs: dict) -> str | None:
    extra = kwargs.get("extra_info") or {}
    prefix = extra.get(PREFIX_KEY) if isinstance(extra, dict) else None
    return prefix if isinstance(prefix, str) and prefix else None


def response_parts(prefix_ids: list[int], generated: list[int], logprobs: list[float] | None, budget: int):
    """Response ids, mask and log-probs: the prefix (mask 0, log-prob 0) then the generated tokens."""
    ids = (prefix_ids + generated)[:budget]
    mask = ([0] * len(prefix_ids) + [1] * len(generated))[:budget]
    probs = ([0.0] * len(prefix_ids) + list(logprobs))[:budget] if logprobs else None
    return ids, mask, probs


class PrefixGuidedAgentLoop(SingleTurnAgentLoop):
    async def run(self, sampling_params: dict, priority: int = 0, **kwargs) -> AgentLoopOutput:
        prefix = prefix_of(kwargs)
        settings = (self.config.get("grpo_ext") or {}).get("prefix") or {}
        dropout = float(settings.get("dropout", 0.0))
        if prefix is None or random.random() < dropout or kwargs.get("multi_modal_data"):
            return await super().run(sampling_params, priority=priority, **kwargs)
        prompt_ids = await self.ct_build_initial_tokens(list(kwargs["raw_prompt"]))
        prefix_ids = self.tokenizer.encode(prefix, add_special_tokens=False)[: self.response_length - 1]
        params = {**sampling_params, "max_tokens": self.response_length - len(prefix_ids)}
        metrics = {}
        with simple_timer("generate_sequences", metrics):
            output = await self.server_manager.generate(request_id=uuid4().hex, prompt_ids=prompt_ids + prefix_ids,
                                                        sampling_params=params, priority=int(priority))
        metrics["num_preempted"] = output.num_preempted if output.num_preempted is not None else -1
        ids, mask, probs = response_parts(prefix_ids, list(output.token_ids), output.log_probs, self.response_length)
        extra = dict(output.extra_fields or {})
        extra.update({"turn_scores": [], "tool_rewards": [], "prefix_len": len(prefix_ids)})
        return AgentLoopOutput(prompt_ids=prompt_ids, response_ids=ids, response_mask=mask, response_logprobs=probs,
                               num_turns=2, metrics=metrics, extra_fields=extra)
