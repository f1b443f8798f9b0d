"""Answer extraction: each rule a small function, safe on huge or malformed text."""

import re
from decimal import Decimal, InvalidOperation

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_HASHES = re.compile(r"####\s*([^\n]*)")
_ANSWER_IS = re.compile(r"answer\s*(?:is|:)\s*([^\n]*)", re.IGNORECASE)
# The Minerva / DAPO-Math form: the response's last line says "Answer: $Answer".
_ANSWER_LINE = re.compile(r"(?i)answer\s*:\s*([^\n]+)")
_WORDS = re.compile(r"(?<!\\)\b[A-Za-z]{2,}")
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?%?|-?\$?\.\d+%?")
_CODE_BLOCK = re.compile(r"```(?:python|py)?[^\n]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def answer_tag(text: str) -> str | None:
    """Content of the last <answer>...</answer>."""
    found = _ANSWER_TAG.findall(text)
    return found[-1].strip() if found else None


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}), braces balanced; None if absent or unclosed."""
    text = text or ""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    brace = text.find("{", start)
    head = text[start:brace] if brace >= 0 else text[start:]
    if brace < 0 or head.strip() not in ("\\boxed", "\\fbox"):
        rest = text[start + len("\\boxed"):].strip()  # `\boxed 5`
        return rest.split()[0].rstrip("$.") if rest else None
    depth = 0
    for i in range(brace, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[brace + 1:i]
    return None


def _last_number(text: str) -> str | None:
    found = _NUMBER.findall(text)
    return found[-1] if found else None


def final_number(text: str) -> str | None:
    """The final numeric answer: answer tag, then last \\boxed{}, then `#### N`, then "answer is N",
    then the last number in the text."""
    for candidate in (answer_tag(text), last_boxed(text)):
        if candidate is not None:
            return _last_number(candidate)
    hashes = _HASHES.findall(text)
    if hashes:
        return _last_number(hashes[-1])
    stated = _ANSWER_IS.findall(text)
    if stated and _last_number(stated[-1]):
        return _last_number(stated[-1])
    return _last_number(text)


def answer_line(text: str) -> str | None:
    """The last "Answer: ..." of the response's end (DAPO-Math's prompts ask for this last line),
    without surrounding `$` or a trailing full stop."""
    found = _ANSWER_LINE.findall(text[-300:])
    if not found:
        return None
    answer = found[-1].strip().rstrip(".").strip()
    return answer[1:-1].strip() if len(answer) > 1 and answer.startswith("$") and answer.endswith("$") else answer


def bare_answer(text: str, max_chars: int = 40) -> str | None:
    """A response that is nothing but its final answer: one short line, no words (LaTeX commands
    and single-letter variables allowed). Longer text is reasoning, never read as an answer."""
    answer = text.strip().strip("$").strip()
    if not answer or "\n" in answer or len(answer) > max_chars or _WORDS.search(answer):
        return None
    return answer


def parse_number(text: str | None) -> Decimal | None:
    """`1,234` `$18.00` `3.0` `50%` -> an exact Decimal (a percentage keeps its number: 50% -> 50).
    Exact, so 1000001 is not 1000000 and a 19-digit answer must match in every digit."""
    if text is None:
        return None
    cleaned = text.strip().replace(",", "").replace("$", "").rstrip("%").rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def last_code_block(text: str) -> str | None:
    found = _CODE_BLOCK.findall(text)
    return found[-1] if found else None
