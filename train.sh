#!/usr/bin/env bash
# GRPO training on verl. `./train.sh --help` lists every flag; with no arguments and no GPU it
# trains the built-in demo on the CPU. The first call installs the environment (.venv/).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/scripts/bootstrap.sh" --quiet
exec "$here/.venv/bin/python" -m launcher "$@"
