#!/usr/bin/env bash
# Pack the GPU wheel set (requirements/gpu.lock, Linux x86_64, CPython 3.12) for a machine with no
# network: download here, leave out what that machine already has, split into parts that each fit
# one device call (default 60 MiB), with a checksum manifest. scripts/gpu_receive.sh undoes it there.
#
#   scripts/gpu_bundle.sh [--out DIR] [--part-mb N] [--skip "torch transformers ..."] [--lock FILE]
#
# Sequence with the device tool (one part per call, the machine stays warm between calls):
#   run: mkdir -p /tmp/gpu_bundle && cp .gpu_bundle/parts/part_00 /tmp/gpu_bundle/   carry [.gpu_bundle/parts/part_00]
#   ... one call per part (and one carrying manifest.txt) ...
#   run: bash scripts/gpu_receive.sh /tmp/gpu_bundle /tmp/pylib   (then PYTHONPATH=/tmp/pylib)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=.gpu_bundle
PART_MB=60
LOCK=requirements/gpu.lock
# The device image brings torch 2.11+cu130 (with its nvidia-* and triton wheels) and transformers.
SKIP="torch torchvision torchaudio transformers triton nvidia-.*"
WHEELS_FROM=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --part-mb) PART_MB="$2"; shift 2 ;;
    --skip) SKIP="$2"; shift 2 ;;
    --lock) LOCK="$2"; shift 2 ;;
    --wheels-from) WHEELS_FROM="$2"; shift 2 ;;  # pack wheels already on disk (no download)
    *) echo "gpu_bundle.sh: unknown argument '$1' (valid: --out --part-mb --skip --lock --wheels-from)" >&2; exit 2 ;;
  esac
done

mkdir -p "$OUT/wheels" "$OUT/parts"
rm -f "$OUT"/parts/part_* "$OUT/manifest.txt"

if [[ -n "$WHEELS_FROM" ]]; then
  cp "$WHEELS_FROM"/*.whl "$OUT/wheels/"
else
  pattern="^($(echo "$SKIP" | tr ' ' '|'))=="
  grep -E '^[A-Za-z0-9_.-]+==' "$LOCK" | grep -Ev "$pattern" > "$OUT/requirements.txt"
  echo "gpu_bundle: $(wc -l < "$OUT/requirements.txt") packages after leaving out: $SKIP"
  PIP=(python3 -m pip)
  [[ -x .venv/bin/python ]] && PIP=(.venv/bin/python -m pip)
  "${PIP[@]}" download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
    --abi abi3 --abi none --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any -r "$OUT/requirements.txt" -d "$OUT/wheels" -q
fi

tar -C "$OUT" -cf "$OUT/bundle.tar" wheels
split -b "${PART_MB}m" -d -a 2 "$OUT/bundle.tar" "$OUT/parts/part_"
( cd "$OUT/parts" && sha256sum part_* > ../manifest.txt )
sha256sum "$OUT/bundle.tar" | awk '{print $1"  bundle.tar"}' >> "$OUT/manifest.txt"
cp "$OUT/manifest.txt" "$OUT/parts/manifest.txt"
rm "$OUT/bundle.tar"
n=$(ls "$OUT"/parts/part_* | wc -l)
echo "gpu_bundle: $(ls "$OUT/wheels" | wc -l) wheels, $(du -sh "$OUT/wheels" | cut -f1), in $n parts of <= ${PART_MB} MiB: $OUT/parts"
