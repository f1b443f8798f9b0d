"""adaGRPO in verl's real trainer on the CPU demo, with a reward that makes a real rescue happen:
each prompt fails its first draw and its first resample round and passes the second (a counter per
prompt, shared by the scoring processes through a locked file). So every group is re-asked twice,
the second round (2n samples at temperature 1.5) is trimmed to n, and the trained samples were all
drawn at 1.5: the log-prob check covers resampled tokens only, and the logged temperature shows the
override reached the rollout."""

import pytest

from conftest import run_launcher

pytestmark = pytest.mark.e2e
BATCH, N = 16, 5  # preset demo

# The first 2n scorings of a prompt in a step fail (first draw n, round 1 n); round 2 (2n) passes.
RESCUE_REWARD = """
import fcntl, os

COUNTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "counts")


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    if "num_turns" not in extra_info:  # the launcher's start-up check of the file, not verl's reward loop
        return float(solution_str == f"<answer>{ground_truth}</answer>")
    os.makedirs(COUNTS, exist_ok=True)
    with open(os.path.join(COUNTS, str(extra_info["index"])), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write("x")
        f.flush()
        count = os.path.getsize(f.name)
    ok = float((count - 1) % (4 * N) >= 2 * N)
    return {"score": ok, "acc": ok}
""".replace("(4 * N)", f"({4 * N})").replace("2 * N", str(2 * N))


@pytest.fixture(scope="module")
def rescued(tmp_path_factory):
    out = tmp_path_factory.mktemp("ada")
    (out / "rescue_reward.py").write_text(RESCUE_REWARD)
    return run_launcher(out, "ada", ["--preset", "adagrpo", "--total_steps", "2", "--test_freq", "-1",
                                     "--save_freq", "2", "trainer.val_before_train=false",
                                     "--reward_func", str(out / "rescue_reward.py"),
                                     "adagrpo.max_extra_samples_per_step=1000",
                                     # two rounds (n, then 2n), and the all-correct rescuing round trained
                                     "adagrpo.max_rounds=2", "adagrpo.n_scale=[1.0,2.0]",
                                     "adagrpo.all_correct=keep", "adagrpo.exhausted=keep",
                                     # rounds far from the rollout's temperature, so the log-prob check bites
                                     "adagrpo.temperature=[1.2,1.5]"])


def test_every_group_rescued_in_the_second_round(rescued):
    for data in rescued["steps"]:
        assert data["adagrpo/active"] == 1.0
        assert data["adagrpo/hard_groups"] == BATCH
        assert data["adagrpo/resample_rounds"] == 2 * BATCH
        assert data["adagrpo/extra_samples"] == BATCH * (N + 2 * N)  # rounds of n and 2n
        assert data["adagrpo/rescued_groups"] == BATCH
        assert data["adagrpo/extra_tokens"] > 0
        # pooled: the first draw (n) + round 1 (n) + round 2 (2n), of which n are trained
        assert data["adagrpo/effective_n"] == 4 * N
        assert data["critic/score/mean"] == 1.0  # what is trained is the rescuing round
        assert data["reward/score/mean"] == 1.0  # the reward's own fields are logged for adaGRPO's batches too


def test_trained_samples_were_drawn_at_the_resample_temperature(rescued):
    for data in rescued["steps"]:
        assert data["adagrpo/trained_temperature_mean"] == pytest.approx(1.5)  # adagrpo.temperature[1]


def test_trainer_log_probs_match_rollout_at_the_resample_temperature(rescued):
    """The old log-probs are the rollout's (bypass mode on the CPU) and the demo trains one
    mini-batch a step, so PPO's mean log-ratio (actor/ppo_kl) compares the trainer's log-probs with
    vLLM's at 1.5. Without the per-sample temperature engine they are off by ~0.1 (1.0 against 1.5)."""
    for data in rescued["steps"]:
        assert abs(data["actor/ppo_kl"]) < 1e-3


def test_trains_and_saves_its_state(rescued):
    assert rescued["steps"][-1]["actor/pg_loss"] == rescued["steps"][-1]["actor/pg_loss"]  # not NaN
    state = rescued["run_dir"] / "checkpoints" / "adagrpo_state" / "global_step_2.json"
    assert state.is_file()
    assert (rescued["run_dir"] / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "2"


# The think-aware processor in training: the demo's responses open with "<answer>", used as the
# end-of-thinking marker, so both scales occur in every response. Slow: a second trainer start.
from conftest import THINK  # noqa: E402


@pytest.mark.slow
def test_think_aware_tokens_scored_at_their_own_scale(tmp_path):
    run = run_launcher(tmp_path, "think", ["--preset", "adagrpo", "--total_steps", "2", "--test_freq", "-1",
                                          "--save_freq", "-1", "trainer.val_before_train=false", *THINK])
    for data in run["steps"]:
        # the trainer's log-probs against vLLM's (bypass mode, one mini-batch a step: actor/ppo_kl);
        # measured as rollout_probs_diff_mean before: 0.0016 with the per-token scales, 0.081-0.103 without
        assert abs(data["actor/ppo_kl"]) < 0.01


# Replacement (adagrpo.exhausted=replace): even-indexed prompts always fail (a group with no signal),
# odd-indexed ones alternate (signal). With no re-ask round, every even prompt is exhausted on its first
# draw and gives its place to a fresh prompt from the dataloader, so only prompts with signal are trained.
REPLACE_REWARD = """
import fcntl, os

COUNTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "counts")


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    if "num_turns" not in extra_info:  # the launcher's start-up check of the file
        return float(solution_str == f"<answer>{ground_truth}</answer>")
    if extra_info["index"] % 2 == 0:
        return {"score": 0.0, "acc": 0.0}
    os.makedirs(COUNTS, exist_ok=True)
    with open(os.path.join(COUNTS, str(extra_info["index"])), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write("x")
        f.flush()
        ok = float(os.path.getsize(f.name) % 2)
    return {"score": ok, "acc": ok}
"""


def test_groups_with_no_signal_give_their_place_to_fresh_prompts(tmp_path):
    (tmp_path / "replace_reward.py").write_text(REPLACE_REWARD)
    run = run_launcher(tmp_path, "replace", ["--preset", "adagrpo", "--total_steps", "1", "--test_freq", "-1",
                                            "--save_freq", "-1", "trainer.val_before_train=false",
                                            "--reward_func", str(tmp_path / "replace_reward.py"),
                                            "adagrpo.max_rounds=0", "adagrpo.exhausted=replace",
                                            "adagrpo.max_replacements_per_step=1000"])
    (data,) = run["steps"]
    assert data["adagrpo/replaced_groups"] >= 1
    assert data["adagrpo/replaced_groups"] == data["adagrpo/hard_groups"]  # no round: each one replaced
    assert data["adagrpo/zero_signal_frac"] == 0.0  # every trained group is an odd prompt
    assert 0.0 < data["critic/score/mean"] < 1.0
