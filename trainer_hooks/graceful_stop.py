"""Save the current step and stop when the launcher asks (SIGTERM from a scheduler, Ctrl-C).

The launcher writes the file named by GRPO_STOP_FILE; at the end of the step in progress the trainer
saves that step's checkpoint (unless save_freq already did, or checkpoints are off) and leaves its
loop as if it were the last step, so `--resume` continues from it.

verl's v1 trainer has no stop hook, so its "sync" trainer is replaced in verl's own registry by a
subclass (core/verl_internals.py: the registry's table and the trainer's private save). The registration waits for the
trainer's module to be imported (in the trainer's process only: importing it costs ~10 s, too much
for every worker that imports verl). tests/unit/test_graceful_stop.py fails if verl's registry changes.
"""

import importlib.abc
import importlib.util
import logging
import os
import sys
from pathlib import Path

STOP_FILE_ENV = "GRPO_STOP_FILE"
TRAINER_MODULE = "verl.trainer.ppo.v1"
logger = logging.getLogger(__name__)


def stop_requested() -> bool:
    path = os.environ.get(STOP_FILE_ENV)
    return bool(path) and Path(path).exists()


def register() -> None:
    from verl.trainer.ppo.v1 import PPOTrainerSync
    from verl.utils.debug import marked_timer

    from core.verl_internals import registered_trainer, replace_trainer, save_checkpoint

    current = registered_trainer("sync")
    if issubclass(current, PPOTrainerSync) and current is not PPOTrainerSync:
        return  # registered already

    class StoppableSyncTrainer(PPOTrainerSync):
        """verl's sync trainer, which saves the current step and ends its loop when asked."""

        def on_step_end(self):
            super().on_step_end()
            if not stop_requested():
                return
            step = self.global_steps
            tracker = Path(str(self.config.trainer.default_local_dir)) / "latest_checkpointed_iteration.txt"
            saved = tracker.is_file() and tracker.read_text().strip() == str(step)
            if self.config.trainer.save_freq > 0 and not saved:
                with marked_timer("save_checkpoint", self.timing_raw, color="green"):
                    save_checkpoint(self)
            logger.warning("stop requested: step %d %s; stopping", step,
                           "saved" if self.config.trainer.save_freq > 0 else "not saved (save_freq <= 0)")
            self.total_training_steps = step  # the loop ends after this step's metrics are logged

    replace_trainer("sync", StoppableSyncTrainer)


class _AfterTrainerImport(importlib.abc.MetaPathFinder):
    """Finds verl's v1 trainer package as the other finders do, with a loader that registers the
    stoppable trainer right after the package runs. Only find_spec: importlib asks finders for other
    methods (find_distributions) and must get the default answer."""

    def find_spec(self, name, path=None, target=None):
        if name != TRAINER_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):  # resource readers and the like: the real loader's
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        register()


def install() -> None:
    """Called by the verl plugin in every process that imports verl while a stop file is set."""
    if TRAINER_MODULE in sys.modules:
        register()
    elif not any(isinstance(f, _AfterTrainerImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterTrainerImport())
