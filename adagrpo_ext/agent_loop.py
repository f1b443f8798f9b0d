"""verl's TransferQueue agent loop, able to re-ask one prompt with its own sampling parameters.

Plugged in with `actor_rollout_ref.rollout.agent.agent_loop_manager_class`. Two additions:
- a prompt row may carry `__sampling_overrides__` (temperature, top_p) next to verl's own
  per-prompt `__rollout_n__`;
- every trajectory stores the temperature it was sampled at (`sample_temperature`), so the
  trainer's log-probs can be recomputed at that temperature (adagrpo_ext.temperature_engine).
The manager keeps this step's training prompts so the sampler can dispatch the same prompt again.
"""

import ray
import torch
from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopManagerTQ
from verl.utils import tensordict_utils as tu

from core import verl_internals

from .bridge import BRIDGE

SAMPLING_OVERRIDES_KEY = "__sampling_overrides__"
TEMPERATURE_FIELD = "sample_temperature"
OVERRIDABLE = ("temperature", "top_p", "top_k")


def _with_overrides(prompt: dict, sampling_params: dict) -> dict:
    """A re-asked prompt's own sampling parameters, and the temperature its samples are drawn at."""
    overrides = prompt.pop(SAMPLING_OVERRIDES_KEY, None) or {}
    params = {**sampling_params, **{k: v for k, v in overrides.items() if k in OVERRIDABLE}}
    prompt[TEMPERATURE_FIELD] = torch.tensor(float(params["temperature"]), dtype=torch.float32)
    return params


_AdaAgentLoopWorker = verl_internals.agent_loop_worker_class(_with_overrides, __name__, "_AdaAgentLoopWorker")
AdaAgentLoopWorker = ray.remote(_AdaAgentLoopWorker)


class AdaAgentLoopManager(AgentLoopManagerTQ):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.agent_loop_workers_class = AdaAgentLoopWorker
        self._train_prompts = {}  # uid -> one-row TensorDict, this step's training prompts
        self._next_worker = 0
        BRIDGE.manager = self

    def generate_sequences(self, prompts) -> None:
        if not tu.get_non_tensor_data(prompts, "validate", default=False):
            for i, uid in enumerate(prompts["uid"]):
                self._train_prompts[uid] = prompts[i:i + 1]
        super().generate_sequences(prompts)

    def resample(self, uid: str, n: int, overrides: dict) -> None:
        """Dispatch prompt `uid` again: n new sessions with these sampling parameters."""
        row = self._train_prompts[uid].clone()
        tu.assign_non_tensor_data(row, verl_internals.ROLLOUT_N_FIELD, int(n))
        tu.assign_non_tensor_data(row, SAMPLING_OVERRIDES_KEY, dict(overrides))
        worker = self.agent_loop_workers[self._next_worker % len(self.agent_loop_workers)]
        self._next_worker += 1
        ray.get(worker.generate_sequences.remote(row))

    def forget_all(self) -> None:
        """The step's batch is taken: its prompts will not be re-asked."""
        self._train_prompts.clear()
