"""Debian's Linux 6.1 from linux-hdd.img (GRUB, then the kernel) to its
shell prompt: hvmm's wall time against QEMU's TCG for the same image in the
same run (`-accel tcg -m 128`), reported as a ratio.

Both are timed as whole processes from start to the first `hvmm-linux# ` on
COM1. Skipped where the image is absent; QEMU's half where
qemu-system-i386 is not installed.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("HVMM_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
IMAGE = SHARED / "images" / "linux-hdd.img"
PROMPT = b"hvmm-linux# "
LIMIT = 1800                    # seconds: a run that takes longer has failed
RESULTS = {}


def time_until_prompt(argv, serial_path=None) -> float:
    """Start argv; the seconds until PROMPT appears on its stdout (or in
    serial_path); then stop it."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    seen = b""
    try:
        while time.perf_counter() - start < LIMIT:
            if serial_path is None:
                chunk = proc.stdout.read1(4096)
                if not chunk:
                    break
                seen = (seen + chunk)[-4096:]
            else:
                time.sleep(0.05)
                seen = Path(serial_path).read_bytes() if Path(serial_path).exists() else b""
            if PROMPT in seen:
                return time.perf_counter() - start
            if proc.poll() is not None and serial_path is not None:
                break
        raise AssertionError(f"no {PROMPT!r} from {argv[0]} within {LIMIT} s")
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not IMAGE.exists(), reason=f"needs {IMAGE} (the ../shared test data)")
def test_linux_boot_to_shell_hvmm(benchmark):
    argv = [sys.executable, "-m", "hvmm", "boot", str(IMAGE), "--memory", "128", "--headless",
            "--serial", "stdio", "--wait", PROMPT.decode()]
    seconds = benchmark.pedantic(lambda: time_until_prompt(argv), rounds=1, iterations=1)
    RESULTS["hvmm"] = seconds
    benchmark.extra_info["seconds_to_prompt"] = round(seconds, 2)
    print(f"\nhvmm: linux-hdd.img to '{PROMPT.decode()}' in {seconds:.1f} s")


@pytest.mark.skipif(not IMAGE.exists(), reason=f"needs {IMAGE} (the ../shared test data)")
@pytest.mark.skipif(shutil.which("qemu-system-i386") is None, reason="needs qemu-system-i386")
def test_linux_boot_to_shell_qemu(benchmark):
    with tempfile.TemporaryDirectory() as tmp:
        serial = Path(tmp) / "com1.txt"
        argv = ["qemu-system-i386", "-accel", "tcg", "-m", "128", "-display", "none",
                "-drive", f"file={IMAGE},format=raw,if=ide,snapshot=on",
                "-serial", f"file:{serial}", "-monitor", "none"]
        seconds = benchmark.pedantic(lambda: time_until_prompt(argv, serial), rounds=1,
                                     iterations=1)
    RESULTS["qemu"] = seconds
    benchmark.extra_info["seconds_to_prompt"] = round(seconds, 2)
    line = f"\nQEMU TCG: linux-hdd.img to '{PROMPT.decode()}' in {seconds:.1f} s"
    if "hvmm" in RESULTS:
        ratio = RESULTS["hvmm"] / seconds
        benchmark.extra_info["hvmm_over_qemu"] = round(ratio, 2)
        line += f"; hvmm / QEMU = {ratio:.2f}"
    print(line)
