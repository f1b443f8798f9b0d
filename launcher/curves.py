"""curves.png in the run folder: reward, validation accuracy, response length and KL per step."""

from pathlib import Path

from core.metrics import val_accuracy

PANELS = (
    ("reward (train mean)", ("critic/score/mean",)),
    ("validation accuracy", None),  # any val-core/*/acc/mean@1
    ("response length", ("response_length/mean",)),
    ("KL to reference", ("actor/kl_loss",)),
)


def _series(records: list[dict], keys) -> tuple[list, list]:
    xs, ys = [], []
    for record in records:
        data = record["data"]
        value = val_accuracy(data) if keys is None else next((data[k] for k in keys if k in data), None)
        if isinstance(value, (int, float)):
            xs.append(record["step"])
            ys.append(value)
    return xs, ys


def write_curves(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(9, 6), constrained_layout=True)
    for ax, (title, keys) in zip(axes.flat, PANELS):
        xs, ys = _series(records, keys)
        ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(path)  # readers never see a half-written image
