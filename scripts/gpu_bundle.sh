#!/usr/bin/env bash
# Pack the GPU wheel set (requirements/gpu.lock, Linux x86_64, CPython 3.12) for a machine with no
# network: download here, leave out what that machine already has, build wheels for packages that
# publish only an sdist, split into parts that each fit one device call (default 60 MiB), with a
# checksum manifest. scripts/gpu_receive.sh undoes it there.
#
#   scripts/gpu_bundle.sh [--out DIR] [--part-mb N] [--skip "REGEX ..."] [--lock FILE] [--glibc 2.N]
#                         [--find-links DIR]   (a local folder instead of PyPI)
#
# --glibc: the target's glibc (default 2.39, Ubuntu 24.04): wheels tagged manylinux_2_17 up to it
# are accepted (pip matches each tag exactly, and newer packages use newer tags).
# Sequence with the device tool (one part per call, the machine stays warm between calls):
#   run: mkdir -p /tmp/gpu_bundle && cp .gpu_bundle/parts/part_00 /tmp/gpu_bundle/   carry [.gpu_bundle/parts/part_00]
#   ... one call per part (and one carrying manifest.txt) ...
#   run: bash scripts/gpu_receive.sh /tmp/gpu_bundle /tmp/pylib   (then PYTHONPATH=/tmp/pylib)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=.gpu_bundle
PART_MB=60
LOCK=requirements/gpu.lock
GLIBC=2.39
# What the GPU image already has (torch 2.11+cu130 with its CUDA libraries and triton, pandas,
# pyarrow, opencv, numba/llvmlite, scipy, sympy, tensorboard) and what the smoke test does not need
# (flashinfer's precompiled kernels: vLLM's own attention backend serves; DeepSeek-only MLA/sparse
# kernels tokenspeed-* and tilelang with its z3 solver; av for video inputs). Checked: vLLM's engine,
# model runner, Qwen2 model and flash-attention backend and verl's trainer, workers and vLLM server
# import without them. transformers travels: the image's 5.17 is newer than verl 0.9.1 accepts.
SKIP="torch torchvision torchaudio triton nvidia-.* pandas pyarrow opencv-python-headless numba llvmlite scipy sympy mpmath tensorboard tensorboard-data-server flashinfer-cubin tokenspeed-triton tokenspeed-mla tilelang z3-solver av"
WHEELS_FROM=""
INDEX=()
BUILD=()  # offline (--find-links), sdists build with this environment's setuptools
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --part-mb) PART_MB="$2"; shift 2 ;;
    --skip) SKIP="$2"; shift 2 ;;
    --lock) LOCK="$2"; shift 2 ;;
    --glibc) GLIBC="$2"; shift 2 ;;
    --wheels-from) WHEELS_FROM="$2"; shift 2 ;;  # pack wheels already on disk (no download)
    --find-links) INDEX=(--no-index --find-links "$2"); BUILD=(--no-build-isolation); shift 2 ;;
    *) echo "gpu_bundle.sh: unknown argument '$1' (valid: --out --part-mb --skip --lock --glibc --find-links --wheels-from)" >&2
       exit 2 ;;
  esac
done

mkdir -p "$OUT/wheels" "$OUT/parts"
rm -f "$OUT"/parts/part_* "$OUT/manifest.txt" "$OUT"/wheels/*

if [[ -n "$WHEELS_FROM" ]]; then
  cp "$WHEELS_FROM"/*.whl "$OUT/wheels/"
else
  pattern="^($(echo "$SKIP" | tr ' ' '|'))=="
  grep -E '^[A-Za-z0-9_.-]+==' "$LOCK" | grep -Eiv "$pattern" > "$OUT/requirements.txt"
  echo "gpu_bundle: $(wc -l < "$OUT/requirements.txt") packages after leaving out: $SKIP"
  PIP=(python3 -m pip)
  [[ -x .venv/bin/python ]] && PIP=(.venv/bin/python -m pip)
  platforms=(--platform any --platform manylinux2014_x86_64 --platform manylinux1_x86_64)
  for ((minor = 17; minor <= ${GLIBC#2.}; minor++)); do platforms+=(--platform "manylinux_2_${minor}_x86_64"); done
  # --no-deps (the lock is complete) also lets pip take an sdist where no wheel fits: built below.
  "${PIP[@]}" download --no-deps --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    "${platforms[@]}" "${INDEX[@]}" "${BUILD[@]}" -r "$OUT/requirements.txt" -d "$OUT/wheels" -q
  shopt -s nullglob
  for sdist in "$OUT"/wheels/*.tar.gz "$OUT"/wheels/*.zip; do
    "${PIP[@]}" wheel --no-deps -q "${INDEX[@]}" "${BUILD[@]}" -w "$OUT/wheels" "$sdist"
    rm "$sdist"
    echo "gpu_bundle: built a wheel for $(basename "$sdist") (no wheel published)"
  done
  platform_built=$(ls "$OUT"/wheels/*.whl | grep -E -- '-linux_x86_64\.whl$' || true)
  if [[ -n "$platform_built" ]]; then
    echo "gpu_bundle: error: these build only for this machine, not the target: $platform_built" >&2
    exit 1
  fi
fi

tar -C "$OUT" -cf "$OUT/bundle.tar" wheels
split -b "${PART_MB}m" -d -a 2 "$OUT/bundle.tar" "$OUT/parts/part_"
( cd "$OUT/parts" && sha256sum part_* > ../manifest.txt )
sha256sum "$OUT/bundle.tar" | awk '{print $1"  bundle.tar"}' >> "$OUT/manifest.txt"
cp "$OUT/manifest.txt" "$OUT/parts/manifest.txt"
rm "$OUT/bundle.tar"
n=$(ls "$OUT"/parts/part_* | wc -l)
echo "gpu_bundle: $(ls "$OUT/wheels" | wc -l) wheels, $(du -sh "$OUT/wheels" | cut -f1), in $n parts of <= ${PART_MB} MiB: $OUT/parts"
