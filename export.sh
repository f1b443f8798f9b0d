#!/usr/bin/env bash
# Export a checkpoint as a Hugging Face folder: `./export.sh RUN_FOLDER [--out DIR]`.
# `./export.sh --help` lists the options (LoRA: --merge-lora, --adapter-only; --push REPO).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${GRPO_PYTHON:-}" ]]; then
  PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec "$GRPO_PYTHON" -m model_tools.export "$@"
fi
"$here/scripts/bootstrap.sh" --quiet
exec "$here/.venv/bin/python" -m model_tools.export "$@"
