#!/usr/bin/env bash
# Export a checkpoint as a Hugging Face folder: `./export.sh RUN_FOLDER [--out DIR]`.
# `./export.sh --help` lists the options (LoRA: merged by default, --adapter_only for the adapter; --push REPO).
exec "$(dirname "${BASH_SOURCE[0]}")/scripts/run_module.sh" model_tools.export "$@"
