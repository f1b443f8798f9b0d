#!/usr/bin/env bash
# The test suite: installs the environment if needed, then runs pytest, slow tests excluded.
#   scripts/test.sh            unit and end-to-end tests (what CI runs)
#   scripts/test.sh unit       tests/unit/: no trainer, no generation engine (a few minutes)
#   scripts/test.sh e2e        tests/e2e/: verl's real trainer and vLLM on CPU
#   scripts/test.sh -m slow    the slow runs
# Further arguments go to pytest.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/bootstrap.sh" --quiet
cd "$repo"
case "${1:-}" in
  unit|e2e) where=("tests/$1"); shift ;;
  *) where=() ;;
esac
exec "$repo/.venv/bin/python" -m pytest -q -p no:cacheprovider "${where[@]}" "$@"
