"""Print the address of flash-attn's prebuilt wheel for the torch installed here.

flash-attn publishes wheels on its GitHub releases per (flash-attn version, CUDA major version of
torch's build, torch major.minor, C++11 ABI, CPython version), named the way its own setup.py
names them when it looks for a cached wheel. There is none on PyPI (sdist only), and building
from source takes an hour or more with nvcc, so bootstrap.sh installs this wheel or nothing.

    python scripts/flash_attn_wheel.py [VERSION]
"""

import platform
import sys

VERSION = "2.8.3"
RELEASES = "https://github.com/Dao-AILab/flash-attention/releases/download"


def wheel_url(version: str = VERSION) -> str:
    import torch

    if not torch.version.cuda:
        raise SystemExit("flash_attn_wheel: this torch has no CUDA build")
    torch_mm = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    cuda_major = torch.version.cuda.split(".")[0]
    abi = str(torch._C._GLIBCXX_USE_CXX11_ABI).upper()
    py = f"cp{sys.version_info.major}{sys.version_info.minor}"
    name = (f"flash_attn-{version}+cu{cuda_major}torch{torch_mm}cxx11abi{abi}-{py}-{py}-"
            f"linux_{platform.machine()}.whl")
    return f"{RELEASES}/v{version}/{name}"


if __name__ == "__main__":
    print(wheel_url(*sys.argv[1:2]))
