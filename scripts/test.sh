#!/usr/bin/env bash
# The test suite: installs the environment if needed, then runs pytest (slow tests excluded;
# `scripts/test.sh -m slow` runs them). Extra arguments go to pytest.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/bootstrap.sh" --quiet
cd "$repo"
exec "$repo/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
