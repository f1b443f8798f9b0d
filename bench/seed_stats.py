"""What the A/B drivers (bench/adagrpo_ab.py, bench/peer_compare.py) compute over runs and seeds."""

import statistics


def spread(values, fmt: str = "{:.3g}", sd_fmt: str | None = None) -> str:
    """Mean ± standard deviation over seeds (the mean alone for one; "-" for none)."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    mean = fmt.format(statistics.mean(values))
    return mean if len(values) == 1 else f"{mean} ± {(sd_fmt or fmt).format(statistics.stdev(values))}"


def first_reach(run: dict, level: float) -> dict | None:
    """The first validation point whose accuracy reached `level` (None: never)."""
    return next((v for v in run["val"] if v["acc"] >= level - 1e-9), None)


def tokens_to_reach(run: dict, level: float) -> int | None:
    """Generated tokens when validation accuracy first reached `level` (None: never)."""
    point = first_reach(run, level)
    return None if point is None else point["tokens"]


# Student's t, two-sided 95%, by degrees of freedom (seeds - 1): no scipy in the CPU stack
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def interval(values) -> tuple[float, float] | None:
    """Mean and the half-width of its 95% interval over seeds (t-based; None for fewer than two)."""
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return None
    return statistics.mean(values), T95.get(len(values) - 1, 1.96) * statistics.stdev(values) / len(values) ** 0.5


def paired(base: dict[int, float], other: dict[int, float]) -> tuple[list[float], tuple[float, float] | None]:
    """other - base on the seeds both have (ordered by seed), and their mean's 95% interval."""
    seeds = sorted(set(base) & set(other))
    diffs = [other[s] - base[s] for s in seeds if base[s] is not None and other[s] is not None]
    return diffs, interval(diffs)
