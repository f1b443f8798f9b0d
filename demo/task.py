"""The demo task: add two numbers, answer in <answer></answer>. Verifiable, and small enough
that a 300k-parameter model can learn it on a CPU."""

import random

DATA_SOURCE = "math_reasoning"


def make_problem(a: int, b: int) -> tuple[str, str]:
    return f"{a}+{b}", str(a + b)


def split_problems(max_operand: int, val_size: int, seed: int = 0) -> tuple[list, list]:
    """All pairs (a, b) below max_operand, shuffled and split; val pairs are never trained on."""
    pairs = [(a, b) for a in range(max_operand) for b in range(max_operand)]
    random.Random(seed).shuffle(pairs)
    return pairs[val_size:], pairs[:val_size]


def to_rows(pairs: list, split: str) -> list[dict]:
    """verl's RL schema (the same one data_prep writes)."""
    rows = []
    for index, (a, b) in enumerate(pairs):
        question, answer = make_problem(a, b)
        rows.append(
            {
                "data_source": DATA_SOURCE,
                "prompt": [{"role": "user", "content": question}],
                "ability": "math",
                "reward_model": {"style": "rule", "ground_truth": answer},
                "extra_info": {"split": split, "index": index if split == "train" else 100000 + index},
            }
        )
    return rows


def response_text(answer: str) -> str:
    return f"<answer>{answer}</answer>"
