#!/usr/bin/env bash
# Convert datasets to verl's parquet schema (python -m data_prep); installs .venv/ on first use.
# `./data_prep.sh --help` lists the commands. GRPO_PYTHON=/path/to/python uses an environment you manage.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "${GRPO_PYTHON:-}" ]]; then "$here/scripts/bootstrap.sh" --quiet; fi
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec "${GRPO_PYTHON:-$here/.venv/bin/python}" -m data_prep "$@"
