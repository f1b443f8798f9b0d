"""What the A/B drivers (bench/adagrpo_ab.py, bench/peer_compare.py) compute over runs and seeds."""

import statistics


def spread(values, fmt: str = "{:.3g}", sd_fmt: str | None = None) -> str:
    """Mean ± standard deviation over seeds (the mean alone for one; "-" for none)."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    mean = fmt.format(statistics.mean(values))
    return mean if len(values) == 1 else f"{mean} ± {(sd_fmt or fmt).format(statistics.stdev(values))}"


def tokens_to_reach(run: dict, level: float) -> int | None:
    """Generated tokens when validation accuracy first reached `level` (None: never)."""
    return next((v["tokens"] for v in run["val"] if v["acc"] >= level - 1e-9), None)
