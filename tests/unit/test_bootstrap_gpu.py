"""bootstrap.sh's GPU path, up to the point where it would download (no GPU here: the fake
nvidia-smi in scripts/fake_gpu/ reports one and the driver's CUDA version)."""

import os
import subprocess
import sys

import pytest

from conftest import REPO


def _bootstrap(tmp_path, cuda: str):
    env = {**os.environ, "PATH": f"{REPO / 'scripts' / 'fake_gpu'}:{os.environ['PATH']}", "FAKE_GPUS": "1",
           "FAKE_CUDA_VERSION": cuda, "GRPO_VENV": str(tmp_path / "venv"), "PYTHON": "/nonexistent/python"}
    env.pop("GRPO_DEVICE", None)
    return subprocess.run(["bash", str(REPO / "scripts" / "bootstrap.sh"), "--quiet"], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("cuda", ["12.4", "12.8", "11.8"])
def test_old_driver_stops_in_one_line_before_installing(tmp_path, cuda):
    out = _bootstrap(tmp_path, cuda)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert f"supports CUDA {cuda}" in out.stderr and "driver 580 or newer" in out.stderr
    assert not (tmp_path / "venv").exists()  # nothing was installed


@pytest.mark.parametrize("cuda", ["13.0", "13.1"])
def test_cuda_13_driver_goes_on_to_install(tmp_path, cuda):
    # PYTHON points nowhere, so the install fails at once after the driver check passed
    out = _bootstrap(tmp_path, cuda)
    assert "supports CUDA" not in out.stderr and "installing the gpu stack" in out.stderr


def test_flash_attn_wheel_name_follows_its_setup_py(monkeypatch):
    """flash-attn's setup.py names its prebuilt wheels
    flash_attn-{ver}+cu{cuda major}torch{torch major.minor}cxx11abi{TRUE|FALSE}-{py}-{py}-{platform}.whl."""
    import torch

    sys.path.insert(0, str(REPO / "scripts"))
    from flash_attn_wheel import wheel_url

    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(torch, "__version__", "2.11.0+cu130")
    py = f"cp{sys.version_info.major}{sys.version_info.minor}"
    abi = str(torch._C._GLIBCXX_USE_CXX11_ABI).upper()
    assert wheel_url("2.8.3") == ("https://github.com/Dao-AILab/flash-attention/releases/download/v2.8.3/"
                                  f"flash_attn-2.8.3+cu13torch2.11cxx11abi{abi}-{py}-{py}-linux_x86_64.whl")
