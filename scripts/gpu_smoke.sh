#!/usr/bin/env bash
# One command for anyone with a GPU: 3 GRPO steps through ./train.sh on a model with Qwen2.5-0.5B's
# architecture and random weights built here (no hub), 256-token responses; then the verdict:
# weight sync (vLLM's log-probs match the trainer's after each update), stage breakdown, tokens/s,
# peak GPU memory. Exit status 0 only when every check passed.
#
#   scripts/gpu_smoke.sh [--model ID|DIR] [--steps N] [more train.sh flags or key=value]
#
# Environment: the repository's .venv (installed by train.sh on first use), or, on a machine with
# no network, the offline bundle (scripts/gpu_bundle.sh, gpu_receive.sh) with GRPO_PYTHON=python3
# and PYTHONPATH set to the bundle's folder.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
model=""; steps=3; extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
python="${GRPO_PYTHON:-}"
if [[ -z "$python" ]]; then scripts/bootstrap.sh --quiet; python="$repo/.venv/bin/python"; fi
out="$repo/outputs/smoke"
"$python" -m demo.smoke_model --out "$out"
lr=1e-6
# Random weights: a learning rate large enough that a missed weight sync shows in the log-probs.
[[ -n "$model" ]] || { model="$out/model"; lr=1e-3; }
run="smoke-$(basename "$model")"
start=$(date +%s)
GRPO_PYTHON="$python" ./train.sh --model "$model" --data "$out/train.parquet" --val_files "$out/val.parquet" \
  --project smoke --experiment "$run" --total_steps "$steps" --batch_size 64 --rollout_n 8 \
  --max_response_length 256 --lr "$lr" --save_freq -1 --test_freq -1 --reward_func demo/smoke_reward.py \
  trainer.val_before_train=false actor_rollout_ref.rollout.ignore_eos=true "${extra[@]}" || status=$?
echo "smoke: train.sh took $(( $(date +%s) - start )) s (exit ${status:-0})"
"$python" bench/smoke_report.py "outputs/smoke/$run"
exit "${status:-$?}"
