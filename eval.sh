#!/usr/bin/env bash
# Evaluate a trained model: `./eval.sh RUN_FOLDER` (its latest checkpoint, on its validation data)
# or `./eval.sh MODEL --data FILE --n 8`. `./eval.sh --help` lists the options.
exec "$(dirname "${BASH_SOURCE[0]}")/scripts/run_module.sh" model_tools.evaluate "$@"
