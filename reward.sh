#!/usr/bin/env bash
# Check rewards on a data file (python -m reward check ...); installs .venv/ on first use.
# `./reward.sh --help` lists the commands. GRPO_PYTHON=/path/to/python uses an environment you manage.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "${GRPO_PYTHON:-}" ]]; then "$here/scripts/bootstrap.sh" --quiet; fi
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec "${GRPO_PYTHON:-$here/.venv/bin/python}" -m reward "$@"
