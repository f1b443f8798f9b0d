#!/usr/bin/env bash
# Check rewards on a data file (python -m model_tools.reward_check check ...); installs .venv/ on first use.
# `./reward.sh --help` lists the commands. GRPO_PYTHON=/path/to/python uses an environment you manage.
exec "$(dirname "${BASH_SOURCE[0]}")/scripts/run_module.sh" model_tools.reward_check "$@"
