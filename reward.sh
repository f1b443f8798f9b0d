#!/usr/bin/env bash
# Check rewards on a data file (python -m reward check ...); installs .venv/ on first use.
# `./reward.sh --help` lists the commands. GRPO_PYTHON=/path/to/python uses an environment you manage.
exec "$(dirname "${BASH_SOURCE[0]}")/scripts/run_module.sh" reward "$@"
