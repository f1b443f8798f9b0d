"""verl's naive reward manager, handing TRL reward functions what TRL would: the prompt's chat
messages and the completion's token ids (in extra_info, which verl passes to compute_score).
Selected by the launcher with reward.reward_manager.source=importlib when a --reward_func is a
TRL function; everything else is verl's."""

import numpy as np
from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager

from .trl_adapter import COMPLETION_IDS_KEY, PROMPT_KEY


class PromptAwareRewardManager(NaiveRewardManager):
    async def run_single(self, data):
        item = data[-1]
        response_ids = item.batch["responses"]
        valid = int(item.batch["attention_mask"][-response_ids.shape[-1]:].sum())
        extra = dict(item.non_tensor_batch.get("extra_info") or {})
        extra[PROMPT_KEY] = item.non_tensor_batch.get("raw_prompt")
        extra[COMPLETION_IDS_KEY] = response_ids[:valid].tolist()
        if "extra_info" not in data.non_tensor_batch:
            data.non_tensor_batch["extra_info"] = np.array([{} for _ in range(len(data))], dtype=object)
        data.non_tensor_batch["extra_info"][-1] = extra
        return await super().run_single(data)
