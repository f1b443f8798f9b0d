#!/usr/bin/env bash
# `scripts/run_module.sh MODULE ARGS...`: python -m MODULE in the project's environment — .venv/
# (installed on first use by bootstrap.sh), or GRPO_PYTHON=/path/to/python for one you manage.
# The entry scripts (data_prep.sh, reward.sh, eval.sh, export.sh, chat.sh) are this with their module.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="$1"
shift
if [[ -z "${GRPO_PYTHON:-}" ]]; then "$repo/scripts/bootstrap.sh" --quiet; fi
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "${GRPO_PYTHON:-$repo/.venv/bin/python}" -m "$module" "$@"
