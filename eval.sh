#!/usr/bin/env bash
# Evaluate a trained model: `./eval.sh RUN_FOLDER` (its latest checkpoint, on its validation data)
# or `./eval.sh MODEL --data FILE --n 8`. `./eval.sh --help` lists the options.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${GRPO_PYTHON:-}" ]]; then
  PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec "$GRPO_PYTHON" -m model_tools.evaluate "$@"
fi
"$here/scripts/bootstrap.sh" --quiet
exec "$here/.venv/bin/python" -m model_tools.evaluate "$@"
