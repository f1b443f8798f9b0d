#!/usr/bin/env bash
# Export a checkpoint as a Hugging Face folder: `./export.sh RUN_FOLDER [--out DIR]`.
# `./export.sh --help` lists the options (LoRA: --merge-lora, --adapter-only; --push REPO).
exec "$(dirname "${BASH_SOURCE[0]}")/scripts/run_module.sh" model_tools.export "$@"
