"""verl's file logger output (metrics.jsonl: one JSON object per step): the one reader of it."""

import json
from pathlib import Path


def read_records(path: Path) -> list[dict]:
    """Every complete record of a metrics file ([] when it does not exist)."""
    if not path.exists():
        return []
    text = path.read_text()
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line.strip()]


def training_steps(records: list[dict]) -> list[dict]:
    """The records of training steps (validation-only records have no step timing)."""
    return [r for r in records if "timing_s/step" in r["data"]]


class MetricsTail:
    """Reads the file as it grows."""

    def __init__(self, path: Path):
        self.path, self.offset, self.records = path, 0, []

    def poll(self) -> list[dict]:
        if not self.path.exists():
            return []
        if self.path.stat().st_size < self.offset:  # started afresh under us
            self.offset, self.records = 0, []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        new = [json.loads(line) for line in complete.splitlines() if line.strip()]
        self.records += new
        return new


def first_value(data: dict, suffixes: tuple[str, ...]):
    for suffix in suffixes:
        for key, value in data.items():
            if key.endswith(suffix) and isinstance(value, (int, float)):
                return value
    return None


def val_accuracy(data: dict):
    """Greedy validation accuracy of a record, whatever the data_source is called."""
    return first_value({k: v for k, v in data.items() if k.startswith("val-core/")}, ("/acc/mean@1", "/reward/mean@1"))


def train_accuracy(data: dict):
    return first_value(data, ("reward_extra_info/acc/mean", "/acc/mean"))
