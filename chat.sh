#!/usr/bin/env bash
# Chat with a model in the terminal: `./chat.sh RUN_FOLDER|CHECKPOINT|HF_FOLDER|HUB_ID`.
# /reset, /system TEXT, /temp T, /save FILE, /quit; `./chat.sh --help` lists the options.
exec "$(dirname "${BASH_SOURCE[0]}")/scripts/run_module.sh" model_tools.chat "$@"
