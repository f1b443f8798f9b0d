#!/usr/bin/env bash
# Chat with a model in the terminal: `./chat.sh RUN_FOLDER|CHECKPOINT|HF_FOLDER|HUB_ID`.
# /reset, /system TEXT, /temp T, /save FILE, /quit; `./chat.sh --help` lists the options.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${GRPO_PYTHON:-}" ]]; then
  PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec "$GRPO_PYTHON" -m model_tools.chat "$@"
fi
"$here/scripts/bootstrap.sh" --quiet
exec "$here/.venv/bin/python" -m model_tools.chat "$@"
