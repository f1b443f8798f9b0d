"""After training: evaluate a model (`./eval.sh`), export a checkpoint to a Hugging Face folder
(`./export.sh`), chat with it (`./chat.sh`). All three take the same MODEL forms (source.py)."""
