"""Debian's Linux 6.1 from linux-hdd.img (GRUB, then the kernel) to its
shell prompt: hvmm's wall time against QEMU's TCG for the same image in the
same run (`-accel tcg -m 128`), reported as a ratio.

Both are timed as whole processes from start to the first `hvmm-linux# `
(hvmm: on the screen, where its --wait ends the run; QEMU: on COM1). Skipped where the image is absent; QEMU's half where
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


def skip_smoke_run(benchmark):
    # `pytest bench/ --benchmark-disable` is a quick smoke run (the test
    # suite runs it); two whole Linux boots belong to a measured run only.
    if benchmark.disabled:
        pytest.skip("a timed run only (not with --benchmark-disable)")


def time_until_prompt(argv, serial_path) -> float:
    """Start argv; the seconds until PROMPT appears in the file serial_path
    (its COM1); then stop it."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < LIMIT and proc.poll() is None:
            time.sleep(0.05)
            if Path(serial_path).exists() and PROMPT in Path(serial_path).read_bytes():
                return time.perf_counter() - start
        raise AssertionError(f"no {PROMPT!r} from {argv[0]} within {LIMIT} s")
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not IMAGE.exists(), reason=f"needs {IMAGE} (the ../shared test data)")
def test_linux_boot_to_shell_hvmm(benchmark):
    skip_smoke_run(benchmark)
    # hvmm ends the run itself when the prompt is on the screen (tty0, the
    # image's last console; COM1 shows it a moment later).
    argv = [sys.executable, "-m", "hvmm", "boot", str(IMAGE), "--memory", "128", "--headless",
            "--wait", PROMPT.decode()]

    def run():
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, timeout=LIMIT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return time.perf_counter() - start

    seconds = benchmark.pedantic(run, rounds=1, iterations=1)
    RESULTS["hvmm"] = seconds
    benchmark.extra_info["seconds_to_prompt"] = round(seconds, 2)
    print(f"\nhvmm: linux-hdd.img to '{PROMPT.decode()}' in {seconds:.1f} s")


@pytest.mark.skipif(not IMAGE.exists(), reason=f"needs {IMAGE} (the ../shared test data)")
@pytest.mark.skipif(shutil.which("qemu-system-i386") is None, reason="needs qemu-system-i386")
def test_linux_boot_to_shell_qemu(benchmark):
    skip_smoke_run(benchmark)
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
