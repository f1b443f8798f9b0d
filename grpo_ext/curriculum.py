"""Curriculum by difficulty, through verl's custom dataset hook (`data.custom_cls`): verl 0.9.1's
trainer builds its sampler itself (no sampler class hook), so the order lives in the dataset.

The launcher sets `data.shuffle=false` (verl's sampler then asks for positions 0, 1, 2, ... each
epoch) and `data.dataloader_num_workers=0` (the dataset stays in the trainer's process, where the
step's sampler reports accuracies). Position p of an epoch is row `order[p]`:
- the first epoch visits the rows in a seeded random order (as verl's shuffled sampler would) while
  the sampler records each prompt's accuracy (the mean of its samples' success);
- each later epoch orders them by the accuracy recorded so far: `easy_first` (most solved first),
  `hard_first`, or `replay_hard` (easy first, but prompts already solved every time give their
  places to repeats of the unsolved ones, hardest first: the epoch keeps its length).
Accuracies keep updating in later epochs. The state (epoch, position, accuracies) is the dataset's
`state_dict`, which verl's StatefulDataLoader saves in every checkpoint (data.pt), so `--resume`
continues the same curriculum.
"""

import random

from verl.utils.dataset.rl_dataset import RLHFDataset

from .settings import CURRICULUM_MODES as MODES

ROW_FIELD = "curriculum_row"  # the dataset row of a prompt, carried with its samples to the sampler
MODE_KEY = "curriculum_mode"  # data.curriculum_mode, set by the launcher from grpo_ext.curriculum.mode
UNSEEN = 0.5  # accuracy assumed for a prompt never trained on (dropped by drop_last)


def epoch_order(n: int, accuracy: dict[int, float], mode: str, seed: int, epoch: int) -> list[int]:
    """Rows in the order epoch `epoch` (0-based) visits them."""
    shuffled = list(range(n))
    random.Random(seed * 1000003 + epoch).shuffle(shuffled)  # ties keep a seeded random order
    if epoch == 0:
        return shuffled
    acc = {row: accuracy.get(row, UNSEEN) for row in range(n)}
    if mode == "hard_first":
        return sorted(shuffled, key=lambda r: acc[r])
    easy = sorted(shuffled, key=lambda r: -acc[r])
    if mode == "easy_first":
        return easy
    unsolved = sorted((r for r in shuffled if acc[r] < 1.0), key=lambda r: acc[r])
    if not unsolved:
        return easy
    kept = [r for r in easy if acc[r] < 1.0]
    repeats = [unsolved[i % len(unsolved)] for i in range(n - len(kept))]
    return sorted(kept + repeats, key=lambda r: -acc[r])


class Curriculum:
    """Epoch, position and accuracies; the order of the current epoch."""

    def __init__(self, n: int, mode: str, seed: int):
        if mode not in MODES:
            raise ValueError(f"grpo_ext.curriculum.mode={mode!r}; valid: {', '.join(MODES)}")
        self.n, self.mode, self.seed = n, mode, seed
        self.epoch, self.last_position = 0, -1
        self.accuracy: dict[int, float] = {}
        self._order: list[int] | None = None

    def row(self, position: int) -> int:
        if position <= self.last_position:  # verl's sequential sampler started over: a new epoch
            self.epoch += 1
            self._order = None
        self.last_position = position
        if self._order is None:
            self._order = epoch_order(self.n, self.accuracy, self.mode, self.seed, self.epoch)
        return self._order[position]

    def record(self, rows: list[int], success: list[float]) -> None:
        """Each prompt's accuracy this step: the mean success of its samples."""
        totals: dict[int, list[float]] = {}
        for row, value in zip(rows, success, strict=True):
            totals.setdefault(int(row), []).append(float(value))
        for row, values in totals.items():
            self.accuracy[row] = sum(values) / len(values)

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "last_position": self.last_position, "mode": self.mode, "seed": self.seed,
                "accuracy": {str(k): v for k, v in self.accuracy.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.last_position = int(state["epoch"]), int(state["last_position"])
        self.accuracy = {int(k): float(v) for k, v in state.get("accuracy", {}).items()}
        self._order = None


ACTIVE: list[Curriculum] = []  # the training dataset's curriculum (same process as the sampler)


class CurriculumDataset(RLHFDataset):
    """verl's RLHFDataset; the training files are visited in curriculum order (validation files as is)."""

    def __init__(self, data_files, tokenizer, config, processor=None, max_samples: int = -1):
        super().__init__(data_files=data_files, tokenizer=tokenizer, config=config, processor=processor,
                         max_samples=max_samples)
        train = config.get("train_files")
        train = [train] if isinstance(train, str) else list(train or [])
        files = [data_files] if isinstance(data_files, str) else list(data_files)
        self.curriculum = None
        # verl builds the training set first, from train_files with train_max_samples; the validation set
        # (same class) from val_files with val_max_samples: the launcher's stand-in validation uses 1
        is_train = [str(f) for f in files] == [str(f) for f in train] and \
            max_samples == int(config.get("train_max_samples", -1) or -1)
        if is_train and not ACTIVE:  # a validation set identical to the training set comes second
            self.curriculum = Curriculum(len(self), str(config.get(MODE_KEY, "easy_first")),
                                         int(config.get("seed") or 0))
            ACTIVE[:] = [self.curriculum]

    def __getitem__(self, item):
        if self.curriculum is None:
            return super().__getitem__(item)
        row = self.curriculum.row(int(item))
        out = super().__getitem__(row)
        out[ROW_FIELD] = row
        return out

    def state_dict(self) -> dict:
        return self.curriculum.state_dict() if self.curriculum else {}

    def load_state_dict(self, state: dict) -> None:
        if self.curriculum and state:
            self.curriculum.load_state_dict(state)
