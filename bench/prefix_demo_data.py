"""The demo's data with solution prefixes, for the prefix-guided A/B arm: each training sum whose
answer has two digits gets its opening, "<answer>" and the first digit, as the prefix the rollout continues from (a stand-in for
a stronger model's opening); validation is the demo's own, with none.

    .venv/bin/python bench/prefix_demo_data.py          # -> outputs/demo_prefix/{train,val}.parquet

Goes through data_prep (`--prefix-file`), as a user's data would.
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from demo.task import response_text  # noqa: E402


def main() -> int:
    demo, out = REPO / "outputs" / "demo", REPO / "outputs" / "demo_prefix"
    if not (demo / "train.parquet").exists():
        raise SystemExit("no demo data yet: run ./train.sh --dry-run once (it builds outputs/demo)")
    out.mkdir(parents=True, exist_ok=True)
    train = pd.read_parquet(demo / "train.parquet")
    rows = [{"question": p[-1]["content"], "answer": r["ground_truth"]} for p, r in zip(train.prompt, train.reward_model)]
    (out / "input.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    # the opening of the answer as the demo writes it (demo/task.py): "<answer>" and the first digit
    prefixes = {r["question"]: response_text(r["answer"])[:len("<answer>") + 1] for r in rows if len(r["answer"]) > 1}
    (out / "prefixes.json").write_text(json.dumps(prefixes, indent=0))
    subprocess.run([sys.executable, "-m", "data_prep", "convert", str(out / "input.jsonl"), "--prompt-key", "question",
                    "--answer-key", "answer", "--out", str(out / "prepared"), "--val-size", "0", "--prefix-file",
                    str(out / "prefixes.json")], cwd=REPO, check=True)
    (out / "prepared" / "train.parquet").replace(out / "train.parquet")
    (out / "val.parquet").write_bytes((demo / "val.parquet").read_bytes())
    print(f"{out / 'train.parquet'}: {len(prefixes)} of {len(rows)} prompts with a prefix; val: {demo / 'val.parquet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
