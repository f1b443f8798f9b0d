#!/usr/bin/env bash
# Convert datasets to verl's parquet schema (python -m data_prep); installs .venv/ on first use.
# `./data_prep.sh --help` lists the commands. GRPO_PYTHON=/path/to/python uses an environment you manage.
exec "$(dirname "${BASH_SOURCE[0]}")/scripts/run_module.sh" data_prep "$@"
