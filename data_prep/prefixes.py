"""--prefix-file: solution openings the rollout continues from (grpo_ext.prefix_agent_loop), matched to
rows by their question and stored in the training rows' extra_info.prefix (validation rows never get
one: validation measures the model alone).

Accepted files: a JSON object {question: prefix}; or a JSON list / JSONL of objects with the question
under "question" or "prompt" (or the --prompt-key column) and the opening under "prefix".
"""

import json
from pathlib import Path

from .readers import DataError

QUESTION_KEYS = ("question", "prompt")


def _entries(path: Path, prompt_key: str | None):
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as err:
            raise DataError(f"{path}: neither JSON nor JSONL ({err})") from None
    if isinstance(data, dict):
        return list(data.items())
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON object {{question: prefix}} or a list of objects")
    keys = ([prompt_key] if prompt_key else []) + list(QUESTION_KEYS)
    out = []
    for i, item in enumerate(data, 1):
        question = next((item[k] for k in keys if isinstance(item, dict) and k in item), None)
        if question is None or not isinstance(item.get("prefix"), str):
            raise DataError(f"{path}: entry {i} needs a question ({' or '.join(map(repr, keys))}) and a 'prefix' string")
        out.append((question, item["prefix"]))
    return out


def load(path: Path, prompt_key: str | None = None) -> dict[str, str]:
    """question (stripped) -> prefix."""
    if not path.is_file():
        raise DataError(f"--prefix-file {path}: no such file")
    return {str(q).strip(): p for q, p in _entries(path, prompt_key) if p}


def question_of(prompt) -> str | None:
    """The row's question as the input gave it: a string, or the last user message of a chat."""
    if isinstance(prompt, str):
        return prompt.strip()
    users = [m.get("content") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
    return str(users[-1]).strip() if users else None
