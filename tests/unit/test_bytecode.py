"""scripts/bootstrap.sh installs packages with their bytecode compiled, so no process of a run
compiles verl, transformers or vLLM at start-up (PYTHONDONTWRITEBYTECODE=1, which many images set,
would otherwise make every process compile them again: 36 s of CPU for their imports here, 13 s
with bytecode; bench/startup.py)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


@pytest.mark.parametrize("package", ["verl", "transformers", "vllm", "torch", "ray", "tensordict"])
def test_installed_packages_carry_their_bytecode(package):
    root = Path(importlib.util.find_spec(package).submodule_search_locations[0])
    sources = list(root.rglob("*.py"))
    missing = [p for p in sources if not Path(importlib.util.cache_from_source(str(p))).is_file()]
    # a few files in packages' test folders use newer-Python syntax and cannot be compiled
    assert len(missing) <= max(3, len(sources) // 500), f"{len(missing)} of {len(sources)} without .pyc: {missing[:3]}"


def test_bootstrap_compiles_at_install_and_brings_old_venvs_up_to_date():
    text = (REPO / "scripts" / "bootstrap.sh").read_text()
    assert 'pip install --compile-bytecode --python' in text  # every uv install of both stacks
    assert '-m compileall' in text and '" bytecode "' in text  # a venv stamped before: one sweep
    receive = (REPO / "scripts" / "gpu_receive.sh").read_text()
    assert "--compile" in receive  # the offline bundle's install


def test_imports_read_bytecode_with_writing_turned_off():
    """The venv's .pyc files are what a process uses, whatever PYTHONDONTWRITEBYTECODE says."""
    out = subprocess.run([sys.executable, "-B", "-v", "-c", "import verl.protocol"], capture_output=True, text=True,
                         timeout=300)
    # python -v names the .pyc each module's code object was read from
    assert "code object from '" in out.stderr and "verl/__pycache__/protocol.cpython-" in out.stderr
