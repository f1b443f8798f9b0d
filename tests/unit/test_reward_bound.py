"""The scorer's bound (reward/bounded.py) from any caller: a user's plain script or heredoc (no
`__main__` guard), a fresh pool whose start-up must not eat the first scoring's bound, and a bound
that counts the scorer's CPU time, so a busy machine does not silently score right answers 0."""

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from launcher.plan import _reward_bound_note
from launcher.summary import summary_lines
from reward import bounded, compute_score
from reward.user_functions import compute_score as user_compute_score

REPO = Path(__file__).resolve().parents[2]
SCRIPT = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from reward import compute_score
print("gsm8k", compute_score("gsm8k", "so #### 42", "42")["score"])
print("math", compute_score("math", "\\\\boxed{{\\\\frac{{1}}{{2}}}}", "0.5")["score"])
"""


def _expect_scores(done):
    assert done.returncode == 0, done.stderr[-2000:]
    assert "gsm8k 1.0" in done.stdout and "math 1.0" in done.stdout
    assert "Traceback" not in done.stderr and "BrokenProcessPool" not in done.stderr


def test_a_plain_script_without_a_main_guard_can_score(tmp_path):
    script = tmp_path / "debug_reward.py"
    script.write_text(SCRIPT)
    _expect_scores(subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                                  cwd=tmp_path))


def test_a_heredoc_can_score(tmp_path):
    _expect_scores(subprocess.run([sys.executable, "-"], input=SCRIPT, capture_output=True, text=True, timeout=120,
                                  cwd=tmp_path))


def test_the_first_scoring_of_a_fresh_pool_is_not_charged_its_start_up():
    bounded.shutdown()
    started = time.monotonic()
    out = compute_score("math", "\\boxed{\\frac{1}{2}}", "0.5", reward_timeout=0.5)
    assert out["reward_timeout"] == 0.0 and out["score"] == 1.0, f"after {time.monotonic() - started:.1f} s"


@pytest.fixture
def user_files(tmp_path):
    (tmp_path / "slow_io.py").write_text("import time\ndef compute_score(d, s, g, extra_info=None):\n"
                                         "    time.sleep(1.5)\n    return 1.0\n")
    (tmp_path / "spin.py").write_text("def compute_score(d, s, g, extra_info=None):\n    while True:\n"
                                      "        pass\n")
    (tmp_path / "sleeper.py").write_text("import time\ndef compute_score(d, s, g, extra_info=None):\n"
                                         "    time.sleep(30)\n    return 1.0\n")
    return tmp_path


def _score(path, timeout):
    started = time.monotonic()
    out = user_compute_score("x", "s", "g", {}, user_reward_functions=[str(path)], reward_timeout=timeout)
    return out, time.monotonic() - started


def test_waiting_for_the_machine_is_not_cpu_so_it_is_not_cut(user_files):
    # 1.5 s of wall clock but no CPU under a 1 s bound: what a loaded machine does to a quick scorer
    out, _ = _score(user_files / "slow_io.py", 1.0)
    assert out["score"] == 1.0 and out["reward_timeout"] == 0.0


def test_a_scorer_that_computes_past_its_bound_is_cut_by_its_cpu_time(user_files, monkeypatch, caplog):
    monkeypatch.setattr(bounded, "WALL_FACTOR", 20.0)  # a loaded machine must not let the wall bound fire first
    out, _ = _score(user_files / "spin.py", 1.0)
    assert out["score"] == 0.0 and out["reward_timeout"] == 1.0 and "took more than 1 s of CPU" in caplog.text


def test_a_scorer_that_only_sleeps_is_cut_by_the_wall_bound(user_files):
    out, seconds = _score(user_files / "sleeper.py", 1.0)
    assert out["reward_timeout"] == 1.0 and bounded.WALL_FACTOR <= seconds < bounded.WALL_FACTOR + 10


def test_the_summary_counts_timed_out_samples():
    plan = SimpleNamespace(cfg=OmegaConf.create({"data": {"train_batch_size": 4},
                                                 "actor_rollout_ref": {"rollout": {"n": 8}}}),
                           checkpoint_dir="c", metrics_path="m", log_path="l")
    records = [{"step": s, "data": {"timing_s/step": 1.0, "reward/reward_timeout/mean": t}}
               for s, t in [(1, 0.0), (2, 1 / 32), (3, 2 / 32)]]
    assert "reward timeouts: 3 samples in 2 step(s) scored 0" in "\n".join(summary_lines(records, 10, plan))
    quiet = [{"step": 1, "data": {"timing_s/step": 1.0, "reward/reward_timeout/mean": 0.0}}]
    assert "timeouts" not in "\n".join(summary_lines(quiet, 10, plan))


def test_the_plan_states_the_bound():
    cfg = OmegaConf.create({"reward": {"custom_reward_function": {"path": "pkg://reward", "name": "compute_score",
                                                                  "reward_kwargs": {"reward_timeout": 4}}}})
    assert _reward_bound_note(cfg) == ["reward bound: 4 s of the scorer's CPU per sample (12 s if it waits); past it "
                                       "the sample scores 0 and is counted (reward_timeout in the metrics and the "
                                       "summary)"]


def teardown_module():
    bounded.shutdown()
