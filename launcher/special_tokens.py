"""Before training, for every model: does its tokenizer end a reply where the model does, and does
it have a pad token? Read from the model folder's JSON files (no transformers import).

The tokenizer's eos is what verl masks and pads with; the generation config's eos is what the
model emits at the end of a reply (vLLM stops on it). When they differ (a GGUF conversion of
SmolLM2 says `<|im_start|>` while the model ends with `<|im_end|>`), or there is no pad token, the
run gets a copy of the tokenizer with the model's own eos (and that as pad where none is set),
through verl's `actor_rollout_ref.model.tokenizer_path`; the plan says so in one line.
"""

import json
from dataclasses import dataclass
from pathlib import Path

TOKENIZER_KEY = "actor_rollout_ref.model.tokenizer_path"


@dataclass
class TokenFix:
    model_dir: Path
    eos: str | None  # the model's own eos token, to set; None: keep the tokenizer's
    pad: str | None  # the pad token to set; None: keep
    line: str  # what the plan prints

    def write(self, out: Path) -> Path:
        """The fixed tokenizer, saved where the run keeps it (done when the run starts, not by --dry-run)."""
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
        if self.eos is not None:
            tokenizer.eos_token = self.eos
        if self.pad is not None:
            tokenizer.pad_token = self.pad
        tokenizer.save_pretrained(str(out))
        return out


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _content(token) -> str | None:
    return token.get("content") if isinstance(token, dict) else token


def _ids(value) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, list) else [int(value)]


def _vocabulary(model_dir: Path) -> tuple[dict[str, int], dict[int, str]]:
    """token -> id and id -> token for the special tokens (and the vocabulary when it is readable)."""
    to_id: dict[str, int] = {}
    cfg = _read(model_dir / "tokenizer_config.json")
    for key, token in (cfg.get("added_tokens_decoder") or {}).items():
        if _content(token) is not None:
            to_id[_content(token)] = int(key)
    tok = _read(model_dir / "tokenizer.json")
    for token in tok.get("added_tokens") or []:
        to_id.setdefault(token.get("content"), int(token.get("id")))
    vocab = (tok.get("model") or {}).get("vocab")
    if isinstance(vocab, dict):
        for token, index in vocab.items():
            to_id.setdefault(token, int(index))
    return to_id, {v: k for k, v in to_id.items()}


def check(model_dir: Path) -> TokenFix | None:
    """None when the tokenizer agrees with the model (or nothing can be read to tell)."""
    cfg = _read(model_dir / "tokenizer_config.json")
    if not cfg:
        return None
    special = _read(model_dir / "special_tokens_map.json")
    eos = _content(cfg.get("eos_token")) or _content(special.get("eos_token"))
    pad = _content(cfg.get("pad_token")) or _content(special.get("pad_token"))
    generation = _read(model_dir / "generation_config.json")
    ends = _ids(generation.get("eos_token_id")) or _ids(_read(model_dir / "config.json").get("eos_token_id"))
    to_id, to_token = _vocabulary(model_dir)
    eos_id = to_id.get(eos) if eos is not None else None
    fix_eos = None
    if ends and eos_id not in ends and ends[0] in to_token:
        fix_eos = to_token[ends[0]]
    new_eos = fix_eos or eos
    fix_pad = new_eos if pad is None and new_eos is not None else None
    if fix_eos is None and fix_pad is None:
        return None
    said = []
    if fix_eos is not None:
        said.append(f"its tokenizer's eos is {eos!r} (id {eos_id}) but the model ends replies with {fix_eos!r} "
                    f"(id {ends[0]}, generation config): using {fix_eos!r}")
    if fix_pad is not None:
        said.append(f"no pad token: padding with {fix_pad!r}")
    return TokenFix(model_dir, fix_eos, fix_pad, f"tokenizer: {'; '.join(said)} (a fixed copy in the run folder)")
