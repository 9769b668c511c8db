"""Debian's Linux 6.1 (686) to its busybox shell: from linux-hdd.img through
GRUB on the console and on COM1, and by direct kernel boot. Each boot
retires about 6.5 billion instructions (some 40 s of host time); the COM1
test boots twice to compare the counts, so it runs with --run-slow."""

import re

import pytest

from conftest import SHARED

IMAGES = SHARED / "images"
HDD = IMAGES / "linux-hdd.img"
KERNEL = IMAGES / "vmlinuz-686"
INITRD = IMAGES / "initrd-busybox.gz"
PROMPT = "hvmm-linux# "
COMMAND = r"echo SUM=$((6*7)); uname -m\r"


def need(*paths):
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (the ../shared test data)")


def instructions(stderr: str) -> int:
    return int(re.search(r"hvmm stats: (\d+) instructions retired", stderr).group(1))


def test_hdd_through_grub_to_the_shell_on_the_console(hvmm_cmd, tmp_path):
    need(HDD)
    proc = hvmm_cmd("boot", HDD, "--memory", "128", "--headless", "--wait", PROMPT,
                    "--type", COMMAND, "--wait", "SUM=42", "--print-screen", "--stats",
                    cwd=tmp_path, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SUM=42" in proc.stdout and "i686" in proc.stdout
    assert PROMPT in proc.stdout


@pytest.mark.slow
def test_hdd_shell_on_com1_and_the_same_count_twice(hvmm_cmd, tmp_path):
    need(HDD)
    args = ("boot", HDD, "--memory", "128", "--headless", "--serial", "stdio",
            "--wait", PROMPT, "--send", COMMAND, "--wait", "SUM=42", "--stats")
    runs = [hvmm_cmd(*args, "--wait", "i686", cwd=tmp_path, timeout=1800, input="")
            for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "HVMM-LINUX-OK 6.1.0-57-686 i686" in proc.stdout
        assert "SUM=42\ni686" in proc.stdout.replace("\r", "")
    assert instructions(runs[0].stderr) == instructions(runs[1].stderr)


def test_direct_kernel_boot_to_the_shell(hvmm_cmd, tmp_path):
    need(KERNEL, INITRD)
    proc = hvmm_cmd("boot", "--kernel", KERNEL, "--initrd", INITRD, "--append",
                    "console=ttyS0", "--memory", "128", "--headless",
                    # console=ttyS0: /init's two shells (console, COM1) share the
                    # line; the second one's notice comes last
                    "--serial", "stdio", "--wait", "job control turned off",
                    "--wait", PROMPT, "--send", COMMAND,
                    "--wait", "SUM=42", "--wait", "i686", "--send", r"poweroff -f\r",
                    "--sleep", "30", cwd=tmp_path, timeout=1800, input="")
    assert "HVMM-LINUX-OK 6.1.0-57-686 i686" in proc.stdout, proc.stderr[-2000:]
    assert "SUM=42\ni686" in proc.stdout.replace("\r", ""), proc.stdout[-500:]
    # poweroff -f ends the run through ACPI S5 well inside the 30 s
    assert "guest powered off (ACPI S5)" in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 0, proc.stderr[-2000:]
