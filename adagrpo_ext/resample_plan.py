"""Pure decisions of adaptive resampling: which group to re-ask, under which budget, and which n
samples of an oversized round to train on. No verl or TransferQueue here, so it unit-tests alone."""

from dataclasses import dataclass, field

import numpy as np

from .settings import AdaGRPOSettings


@dataclass
class StepBudget:
    """Extra samples still allowed this step, and per prompt."""
    settings: AdaGRPOSettings
    left: int = 0
    per_prompt: dict = field(default_factory=dict)
    replacements_left: int = 0

    def __post_init__(self):
        self.left = self.settings.step_budget
        self.replacements_left = self.settings.replacement_budget

    def next_round(self, uid: str, rounds_done: int) -> dict | None:
        """Sampling for the prompt's next round, or None when a budget is spent."""
        if rounds_done >= self.settings.max_rounds:
            return None
        params = self.settings.round_params(rounds_done + 1)
        used = self.per_prompt.get(uid, 0)
        cap = self.settings.max_extra_samples_per_prompt
        if params["n"] > self.left or (cap is not None and used + params["n"] > cap):
            return None
        self.left -= params["n"]
        self.per_prompt[uid] = used + params["n"]
        return params

    def replace(self) -> bool:
        """Whether a group exhausted this step may give its place to a fresh prompt (adagrpo.exhausted)."""
        if self.replacements_left <= 0:
            return False
        self.replacements_left -= 1
        return True


def choose_trained(rewards: list[float], n: int, threshold: float, rng: np.random.Generator) -> list[int]:
    """Indices of the n samples to train on, out of a round of len(rewards) >= n.

    A uniform subset, except that when the round holds both outcomes (reward >= threshold and
    below) and the subset only one, a sample of the missing outcome replaces a random pick: the
    signal the round was drawn for is not thrown away. The advantage still uses pooled statistics
    of every sample, kept or not.
    """
    m = len(rewards)
    if m <= n:
        return list(range(m))
    chosen = sorted(rng.choice(m, size=n, replace=False).tolist())
    correct = [r >= threshold for r in rewards]
    if any(correct) and not all(correct):
        picked = {correct[i] for i in chosen}
        if len(picked) == 1:
            missing = not picked.pop()
            candidates = [i for i in range(m) if correct[i] == missing]
            chosen[int(rng.integers(n))] = int(rng.choice(candidates))
            chosen.sort()
    return chosen
