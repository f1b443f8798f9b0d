"""trainer_hooks/graceful_stop.py: verl's sync trainer replaced in verl's own registry by one that
saves the step in progress and ends its loop when the launcher's stop file appears.

The registry test fails loudly if verl renames or reshapes TRAINER_REGISTRY. The step-end test
stands in a few attributes for a built trainer (a real one needs Ray, workers and a model; the
slow test tests/e2e/test_slow_cpu_runs.py::test_sigterm_saves_the_step_and_resume_continues sends
SIGTERM to a real CPU run)."""

import os
import subprocess
import sys

from omegaconf import OmegaConf

from conftest import REPO
from trainer_hooks import graceful_stop


def test_the_stoppable_trainer_is_registered_after_verl_imports_its_trainer():
    code = ("import verl, sys; assert 'verl.trainer.ppo.v1' not in sys.modules\n"
            "import importlib.metadata; importlib.metadata.version('torch')  # asks every finder\n"
            "from verl.trainer.ppo.v1.trainer_base import TRAINER_REGISTRY, get_trainer_cls\n"
            "from verl.trainer.ppo.v1 import PPOTrainerSync\n"
            "cls = get_trainer_cls('sync'); assert issubclass(cls, PPOTrainerSync), cls\n"
            "print(cls.__name__)")
    env = {**os.environ, graceful_stop.STOP_FILE_ENV: "/nonexistent/.stop_request"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "StoppableSyncTrainer", done.stderr[-2000:]


class _Weights:
    def __init__(self):
        self.updates = []

    def update_weights(self, step):
        self.updates.append(step)


def _trainer(tmp_path, step: int, save_freq: int):
    graceful_stop.register()
    from verl.trainer.ppo.v1.trainer_base import TRAINER_REGISTRY

    trainer = object.__new__(TRAINER_REGISTRY["sync"])
    trainer.global_steps, trainer.total_training_steps, trainer.timing_raw = step, 20, {}
    trainer.config = OmegaConf.create({"trainer": {"save_freq": save_freq, "default_local_dir": str(tmp_path)}})
    trainer.checkpoint_manager = _Weights()
    trainer.saved = []
    trainer._save_checkpoint = lambda: trainer.saved.append(trainer.global_steps)
    return trainer


def test_at_a_stop_request_the_step_is_saved_and_the_loop_ends(tmp_path, monkeypatch):
    stop = tmp_path / ".stop_request"
    monkeypatch.setenv(graceful_stop.STOP_FILE_ENV, str(stop))
    trainer = _trainer(tmp_path, step=7, save_freq=10)
    trainer.on_step_end()
    assert trainer.saved == [] and trainer.total_training_steps == 20  # no request: verl's own step end
    assert trainer.checkpoint_manager.updates == [7]
    stop.write_text("SIGTERM\n")
    trainer.on_step_end()
    assert trainer.saved == [7] and trainer.total_training_steps == 7


def test_a_step_save_freq_already_saved_is_not_saved_twice_and_save_freq_off_saves_nothing(tmp_path, monkeypatch):
    stop = tmp_path / ".stop_request"
    stop.write_text("SIGTERM\n")
    monkeypatch.setenv(graceful_stop.STOP_FILE_ENV, str(stop))
    (tmp_path / "latest_checkpointed_iteration.txt").write_text("10")
    trainer = _trainer(tmp_path, step=10, save_freq=10)
    trainer.on_step_end()
    assert trainer.saved == [] and trainer.total_training_steps == 10
    off = _trainer(tmp_path, step=3, save_freq=-1)
    off.on_step_end()
    assert off.saved == [] and off.total_training_steps == 3
