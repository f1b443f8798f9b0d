"""The smoke test's reward: the share of digits in a response. A random model is never right on
the task, so the task's own reward would be 0 everywhere and nothing would be learned; this one
differs within every group, so each step updates the weights and weight sync has something to sync."""


def compute_score(data_source, solution_str, ground_truth, extra_info=None):
    text = solution_str or ""
    return sum(ch.isdigit() for ch in text) / max(1, len(text))
