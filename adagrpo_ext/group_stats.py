"""Reward statistics of a prompt's samples, kept as (count, mean, M2) so rounds pool exactly.

Chan et al.'s parallel update merges two sets without keeping their rewards; the pooled
variance is M2 / (count - 1), the same unbiased estimate torch.std gives verl's GRPO.
"""

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class GroupStats:
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def of(cls, rewards: Iterable[float]) -> "GroupStats":
        stats = cls()
        for r in rewards:
            stats = stats.merge(cls(1, float(r), 0.0))
        return stats

    def merge(self, other: "GroupStats") -> "GroupStats":
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / count
        m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / count
        return GroupStats(count, mean, m2)

    @property
    def std(self) -> float:
        """Unbiased standard deviation (0 for fewer than two samples)."""
        return (self.m2 / (self.count - 1)) ** 0.5 if self.count > 1 else 0.0

    def to_dict(self) -> dict:
        return {"count": self.count, "mean": self.mean, "m2": self.m2}
