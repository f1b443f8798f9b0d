import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# The launcher must never see a GPU-less test machine as a GPU one, or the reverse, by accident.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
