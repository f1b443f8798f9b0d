"""The one object adaGRPO's three verl hooks share inside the trainer process.

verl builds the sampler (trainer.v1.sampler.custom_sampler), the agent-loop manager
(rollout.agent.agent_loop_manager_class) and calls the advantage estimator (@register_adv_est)
separately, with no handle on each other; all three live in the trainer's process. The bridge is
how they meet:

- the agent-loop manager registers itself (`manager`), so the sampler can re-ask a prompt;
- the sampler publishes, before the batch reaches the advantage step, the statistics of what it
  drew but did not keep (`priors`, by uid) and the advantage cap (`max_advantage`);
- the estimator reads them.

One step at a time (verl's sync trainer): the sampler's publication is for the batch it returns.
"""

from dataclasses import dataclass, field


@dataclass
class Bridge:
    manager: object | None = None  # adagrpo_ext.agent_loop.AdaAgentLoopManager
    priors: dict = field(default_factory=dict)  # uid -> GroupStats of this step's untrained samples
    max_advantage: float | None = None

    def require_manager(self):
        if self.manager is None:
            raise RuntimeError(
                "adaGRPO resamples through its agent-loop manager; set actor_rollout_ref.rollout.agent."
                "agent_loop_manager_class=adagrpo_ext.agent_loop.AdaAgentLoopManager (preset adagrpo does)")
        return self.manager

    def publish(self, priors: dict, max_advantage: float | None = None) -> None:
        self.priors = dict(priors)
        self.max_advantage = max_advantage


BRIDGE = Bridge()
