"""Rewards with verl's signature: ``compute_score(data_source, solution_str, ground_truth, extra_info)``."""

from .dispatch import compute_score

__all__ = ["compute_score"]
