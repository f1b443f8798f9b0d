"""The embedded default job: a tiny local model, a synthetic arithmetic task and a warm start,
so that `./train.sh` with no arguments trains something real on a CPU in minutes."""
