"""Ground-truth extraction for the public datasets."""

import re

from reward.extract import last_boxed  # noqa: F401  (one implementation for data and rewards)

_GSM8K_FINAL = re.compile(r"####\s*(.+?)\s*$", re.DOTALL)


def gsm8k_answer(solution: str) -> str | None:
    """GSM8K solutions end with `#### 72`; thousands separators are dropped."""
    match = _GSM8K_FINAL.search(solution or "")
    return match.group(1).replace(",", "").strip() if match else None
