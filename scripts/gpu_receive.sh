#!/usr/bin/env bash
# On the machine without network: check and join the parts from scripts/gpu_bundle.sh, then install
# the wheels into a target folder (no index, no dependency resolution: the set is already complete).
#   bash scripts/gpu_receive.sh PARTS_DIR TARGET_DIR      then: export PYTHONPATH=TARGET_DIR
# PYTHON: the interpreter the wheels are for (default python3; the target's is Python 3.12).
set -euo pipefail
PARTS="${1:?usage: gpu_receive.sh PARTS_DIR TARGET_DIR}"
TARGET="${2:?usage: gpu_receive.sh PARTS_DIR TARGET_DIR}"
cd "$PARTS"
[[ -f manifest.txt ]] || { echo "gpu_receive: $PARTS/manifest.txt missing (copy it with the parts)" >&2; exit 2; }
missing=$(awk '$2 ~ /^part_/ {print $2}' manifest.txt | while read -r p; do [[ -f "$p" ]] || echo "$p"; done)
[[ -z "$missing" ]] || { echo "gpu_receive: parts not here yet: $(echo $missing)" >&2; exit 2; }
grep ' part_' manifest.txt | sha256sum -c --quiet - || { echo "gpu_receive: a part is corrupt; send it again" >&2; exit 2; }
cat part_* > bundle.tar
grep ' bundle.tar' manifest.txt | sha256sum -c --quiet -
mkdir -p unpacked && tar -C unpacked -xf bundle.tar
"${PYTHON:-python3}" -m pip install --no-index --no-deps --compile --target "$TARGET" unpacked/wheels/*.whl -q
echo "gpu_receive: $(ls unpacked/wheels | wc -l) wheels installed in $TARGET (export PYTHONPATH=$TARGET)"
