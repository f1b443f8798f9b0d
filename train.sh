#!/usr/bin/env bash
# GRPO training on verl. `./train.sh --help` lists every flag; with no arguments and no GPU it
# trains the built-in demo on the CPU. The first call installs the environment (.venv/);
# GRPO_PYTHON=/path/to/python uses an environment you manage instead (no install).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${GRPO_PYTHON:-}" ]]; then
  cd "$here" && exec "$GRPO_PYTHON" -m launcher "$@"
fi
"$here/scripts/bootstrap.sh" --quiet
exec "$here/.venv/bin/python" -m launcher "$@"
