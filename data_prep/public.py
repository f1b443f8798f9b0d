"""Public datasets: how each one's rows become (question, ground truth, data_source)."""

from collections.abc import Iterator

from .extract import gsm8k_answer, last_boxed
from .readers import DataError, read_rows

# name -> (default hub id, hub config, question field, data_source)
DATASETS = {
    "gsm8k": ("openai/gsm8k", "main", "question", "gsm8k"),
    "math": ("DigitalLearningGmbH/MATH-lighteval", None, "problem", "math"),
    "dapo_math": ("BytedTsinghua-SIA/DAPO-Math-17k", None, "prompt", "math"),
}


def _dapo_question(prompt) -> str:
    """DAPO-Math-17k stores chat messages; the question is the user turn."""
    if isinstance(prompt, str):
        return prompt
    users = [m["content"] for m in list(prompt) if m.get("role") == "user"]
    return users[-1] if users else ""


def public_records(name: str, source: str | None, split: str) -> Iterator[tuple[str, dict]]:
    """Yield records with the columns convert expects: prompt, ground_truth, data_source."""
    hub_id, config, question_key, data_source = DATASETS[name]
    for where, row in read_rows(source or hub_id, split=split, config=config):
        if name == "gsm8k":
            truth = gsm8k_answer(row.get("answer", ""))
            if truth is None:
                raise DataError(f"{where}: GSM8K answer has no '#### <number>' line")
            question = row.get(question_key)
        elif name == "math":
            truth = last_boxed(row.get("solution", ""))
            if truth is None:
                raise DataError(f"{where}: MATH solution has no \\boxed{{...}} answer")
            question = row.get(question_key)
        else:
            reward_model = row.get("reward_model") or {}
            truth = reward_model.get("ground_truth") if isinstance(reward_model, dict) else None
            question = _dapo_question(row.get(question_key))
        yield where, {"prompt": question, "ground_truth": truth, "data_source": data_source}
