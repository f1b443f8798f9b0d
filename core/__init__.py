"""What several entry points share (train.sh, eval.sh, export.sh, chat.sh, bench/): the user-error
type, run folders, the metrics reader, config composition and GPU counting. It imports none of them."""
