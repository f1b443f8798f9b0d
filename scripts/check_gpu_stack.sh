#!/usr/bin/env bash
# One-time check on a machine without a GPU (not part of CI): the GPU stack of requirements/gpu.lock
# installs through bootstrap.sh's own GPU path into a scratch venv (CUDA wheels install and import
# without a GPU), everything imports, and the launcher's GPU plans pass verl's config checks in it.
#
#   scripts/check_gpu_stack.sh [VENV_DIR]        (default /tmp/grpo-gpu-venv; reuses it when current)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-/tmp/grpo-gpu-venv}"
export PATH="$repo/scripts/fake_gpu:$PATH" FAKE_GPUS="${FAKE_GPUS:-8}"
start=$(date +%s)
GRPO_DEVICE=gpu GRPO_VENV="$venv" "$repo/scripts/bootstrap.sh"
echo "check_gpu_stack: install $(( $(date +%s) - start )) s, venv $(du -sh "$venv" | cut -f1)"

"$venv/bin/python" - <<'PY'
import importlib, time
from importlib.metadata import version
for name in ("torch", "vllm", "verl", "ray", "transformers", "flash_attn", "core", "verl_cpu", "adagrpo_ext", "reward",
             "data_prep", "launcher", "launcher.plan", "verl.trainer.main_ppo", "vllm.entrypoints.llm"):
    t = time.time()
    try:
        importlib.import_module(name)
        print(f"import {name:<24} ok  {time.time() - t:5.1f} s")
    except Exception as err:  # report every failure, keep going
        print(f"import {name:<24} FAILED {type(err).__name__}: {str(err).splitlines()[0][:200]}")
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "| vllm", version("vllm"), "| verl", version("verl"),
      "| transformers", version("transformers"))
PY

# GPU plans (a fake nvidia-smi reports the GPUs): every one must pass the launcher and verl's validator.
cd "$repo"
fails=0
plan() {
  local gpus="$1"; shift
  if out=$(FAKE_GPUS="$gpus" "$venv/bin/python" -m launcher --dry-run "$@" 2>&1); then
    echo "plan ok    ($gpus GPU/node) $*"
  else
    echo "plan FAILED ($gpus GPU/node) $*: $(echo "$out" | tail -n1)"; fails=$((fails + 1))
  fi
}
plan 1
plan 2 --preset drgrpo
plan 4 --tp 2 --preset dapo
plan 8 --tp 4 --preset adagrpo
plan 8 --nnodes 2 --preset lowmem
plan 8 --preset lora,drgrpo
# The GPU plan tests and the attention-fallback evidence, with the GPU stack's versions.
if "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit/test_gpu_plans.py tests/unit/test_attention_fallback.py; then
  echo "check_gpu_stack: GPU plan and attention tests pass with the GPU stack"
else
  echo "check_gpu_stack: GPU plan or attention tests FAILED with the GPU stack"; fails=$((fails + 1))
fi
echo "check_gpu_stack: done in $(( $(date +%s) - start )) s, $fails failed check(s)"
exit $(( fails > 0 ))
