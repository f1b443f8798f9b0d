"""The GPU benchmark harness (bench/grpo_throughput.py) in its tiny CPU mode, so it cannot rot:
a real 2-step run through the launcher, standalone vLLM on the same prompts, G1 computed."""

import json
import subprocess
import sys

import pytest

from conftest import REPO

# A third trainer start (~2.5 min): in the slow suite, beside the other benchmark runs.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_tiny_benchmark_writes_figures(tmp_path):
    proc = subprocess.run([sys.executable, "bench/grpo_throughput.py", "--tiny", "--no_baseline", "--out", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "grpo_throughput.json").read_text())
    ours = result["ours"]
    assert ours["samples_per_step"] == 8 and ours["steps_measured"] == 1
    assert all(ours["stages_s"][s] > 0 for s in ("gen", "old_log_prob", "ref", "update_actor", "step"))
    assert ours["throughput_tok_s_per_device"] > 0 and ours["verl_gen_tok_s"] > 0
    assert result["vllm_standalone"]["generated_tokens"] == 4 * 2 * 8  # batch x n x fixed length
    assert 0 < result["G1_rollout_efficiency"]
    assert "G1" in proc.stdout
