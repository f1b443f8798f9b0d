"""scripts/gpu_bundle.sh + gpu_receive.sh: parts small enough for one device call each, checked
and joined on the other side, and the wheels installed with no index. Uses two handmade wheels
(the real download needs the GPU set from PyPI, which this test must not depend on)."""

import base64
import hashlib
import os
import subprocess
import sys
import zipfile

from conftest import REPO


def _wheel(folder, name, payload_bytes):
    dist = f"{name}-1.0.dist-info"
    files = {f"{name}/__init__.py": b"VALUE = 42\n", f"{name}/blob.bin": os.urandom(payload_bytes),
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
             f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
                     f"{len(data)}\n" for path, data in files.items()) + f"{dist}/RECORD,,\n"
    path = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for p, data in files.items():
            z.writestr(p, data)
        z.writestr(f"{dist}/RECORD", record)
    return path


def test_bundle_splits_and_receive_installs(tmp_path):
    wheels = tmp_path / "src"
    wheels.mkdir()
    _wheel(wheels, "bigpkg", 2_500_000)
    _wheel(wheels, "smallpkg", 10)
    out = tmp_path / "bundle"
    done = subprocess.run(["bash", "scripts/gpu_bundle.sh", "--out", str(out), "--part-mb", "1",
                           "--wheels-from", str(wheels)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    parts = sorted(p.name for p in (out / "parts").iterdir() if p.name.startswith("part_"))
    assert parts == ["part_00", "part_01", "part_02"] and "2 wheels" in done.stdout
    assert all((out / "parts" / p).stat().st_size <= 1024 * 1024 for p in parts)

    # the other machine: the parts arrive one call at a time into a folder
    arrived = tmp_path / "arrived"
    arrived.mkdir()
    for name in [*parts[:-1], "manifest.txt"]:
        (arrived / name).write_bytes((out / "parts" / name).read_bytes())
    receive = ["bash", str(REPO / "scripts/gpu_receive.sh"), str(arrived), str(tmp_path / "lib")]
    early = subprocess.run(receive, capture_output=True, text=True, timeout=120)
    assert early.returncode == 2 and "parts not here yet: part_02" in early.stderr
    (arrived / parts[-1]).write_bytes(b"corrupt")
    bad = subprocess.run(receive, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "corrupt" in bad.stderr
    (arrived / parts[-1]).write_bytes((out / "parts" / parts[-1]).read_bytes())
    ok = subprocess.run(receive, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    check = subprocess.run([sys.executable, "-c", "import bigpkg, smallpkg; print(bigpkg.VALUE)"],
                           env={**os.environ, "PYTHONPATH": str(tmp_path / "lib")}, capture_output=True, text=True)
    assert check.stdout.strip() == "42"


def _sdist(folder, name):
    import tarfile

    root = folder / f"{name}-1.0"
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text("VALUE = 7\n")
    (root / "setup.py").write_text(f"from setuptools import setup\nsetup(name={name!r}, version='1.0', "
                                   f"packages=[{name!r}])\n")
    (root / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    with tarfile.open(folder / f"{name}-1.0.tar.gz", "w:gz") as tar:
        tar.add(root, arcname=root.name)


def test_bundle_leaves_out_skipped_and_builds_sdist_only_packages(tmp_path):
    """The real lock has a package with no wheel (antlr4-python3-runtime) and packages the target
    image already has (--skip): a local index stands in for PyPI."""
    index = tmp_path / "index"
    index.mkdir()
    _wheel(index, "keepme", 10)
    _wheel(index, "skipme", 10)
    _wheel(index, "skipalso", 10)
    _sdist(index, "sdistonly")
    lock = tmp_path / "gpu.lock"
    lock.write_text("# a comment\nkeepme==1.0\n    # via x\nskipme==1.0\nsdistonly==1.0\nSkipAlso==1.0\n")
    out = tmp_path / "bundle"
    done = subprocess.run(["bash", "scripts/gpu_bundle.sh", "--out", str(out), "--lock", str(lock), "--find-links",
                           str(index), "--skip", "skip.* other"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    wheels = sorted(p.name for p in (out / "wheels").iterdir())
    assert wheels == ["keepme-1.0-py3-none-any.whl", "sdistonly-1.0-py3-none-any.whl"], wheels
    assert "built a wheel for sdistonly-1.0.tar.gz" in done.stdout and "2 packages after leaving out" in done.stdout
