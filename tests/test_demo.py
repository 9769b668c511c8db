"""The demo guest (guests/demo.asm -> hvmm/guests/demo.bin) that `hvmm run`
boots: a floppy boot sector plus sectors it loads with INT 13h, run on our
BIOS through hvmm.pc.PC (tests/test_cli.py runs the command itself)."""
import io
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path

import pytest

from hvmm.cli import DEMO_FLOPPY_SIZE, demo_floppy
from hvmm.pc import PC

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = {
    "386": "hvmm demo: 386+ GenuineIntel, 640 KB, 36 timer ticks in 1.977 s\n",
    "8086": "hvmm demo: 8086, 640 KB, 36 timer ticks in 1.977 s\n",
}


def run_demo(cpu):
    out = io.BytesIO()
    pc = PC(demo_floppy(), cpu=cpu, debug_stream=out)
    stop = pc.run(5_000_000)
    return pc, stop, out.getvalue().decode("latin-1")


@pytest.mark.parametrize("cpu", ["386", "8086"])
def test_demo_boots_and_ends_itself(cpu):
    pc, stop, e9 = run_demo(cpu)
    assert stop.reason == "debug_exit" and stop.value == 0, (stop.reason, pc.screen_text())
    screen = pc.screen_text()
    lines = screen.splitlines()
    assert "hvmm demo" in lines[2]                                  # the title box
    assert "╔" in lines[1] and "╝" in lines[4]
    assert "Memory     640 KB conventional (INT 12h)" in screen
    assert "Equipment  0x0221: 1 floppy, 80x25 colour, 1 serial (INT 11h)" in screen
    assert "Clock      2026-01-01 00:00:00 (RTC, INT 1Ah)" in screen  # deterministic epoch
    assert "Video      mode 3, 80 columns" in screen
    if cpu == "8086":
        assert "CPU        8086/8088 (FLAGS bits 12-15 stuck at 1)" in screen
    else:
        assert "CPU        386 or later, CPUID GenuineIntel family 4" in screen
    # Timer interrupts: 36 BIOS ticks (1.977 s at 18.2065 Hz), a full bar.
    assert "█" * 36 + " 36/36 ticks" in screen
    assert "36 ticks in 1.977 s of PC time: 18.2 Hz, 36 wake-ups from HLT" in screen
    assert SUMMARY[cpu].strip() in screen
    assert e9 == SUMMARY[cpu]
    # ... which took about 2 s of virtual time and few instructions.
    assert 1.9e9 < pc.stats(False)["virtual_ns"] < 2.2e9
    assert pc.cpu.instructions < 1_000_000


@pytest.mark.parametrize("cpu", ["386", "8086"])
def test_demo_attributes(cpu):
    """The screen is in colour: the title box on red, the desk on blue, the
    palette row has all 16 background colours."""
    pc, _, _ = run_demo(cpu)
    mem = pc.cpu.memory
    attr = lambda row, col: mem[0xB8000 + (row * 80 + col) * 2 + 1]  # noqa: E731
    assert attr(2, 35) == 0x4F                 # "hvmm demo": white on red
    assert attr(0, 0) == 0x17                  # the desk
    row = pc.screen_text().splitlines().index(
        next(l for l in pc.screen_text().splitlines() if "The 16 colours" in l))
    start = pc.screen_text().splitlines()[row].index("█")
    backgrounds = {attr(row, start + 3 * i) >> 4 for i in range(16)}
    assert backgrounds == set(range(16))


def test_demo_is_deterministic():
    counts = set()
    for _ in range(2):
        pc, stop, _ = run_demo("386")
        assert stop.reason == "debug_exit"
        counts.add(pc.cpu.instructions)
    assert len(counts) == 1


def test_demo_image():
    image = files("hvmm").joinpath("guests/demo.bin").read_bytes()
    assert image[510:512] == b"\x55\xaa"
    assert len(image) % 512 == 0 and len(image) <= DEMO_FLOPPY_SIZE
    # The boot sector loads all the rest in one INT 13h read: mov ax, 02NNh.
    assert bytes([0xB8, len(image) // 512 - 1, 0x02]) in image[:512]


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm not installed")
def test_committed_image_is_up_to_date(tmp_path):
    out = tmp_path / "demo.bin"
    subprocess.run(["nasm", "-f", "bin", "-i", str(ROOT / "guests") + "/", "-o", str(out),
                    str(ROOT / "guests" / "demo.asm")],
                   check=True)
    assert out.read_bytes() == files("hvmm").joinpath("guests/demo.bin").read_bytes(), \
        "hvmm/guests/demo.bin is stale: run guests/build.sh"


@pytest.mark.skipif(shutil.which("qemu-system-i386") is None,
                    reason="qemu-system-i386 not installed")
def test_demo_on_qemu(tmp_path):
    """The same image boots unchanged on QEMU's SeaBIOS and exits through
    isa-debug-exit (status (0 << 1) | 1)."""
    image = tmp_path / "demo.img"
    image.write_bytes(files("hvmm").joinpath("guests/demo.bin").read_bytes()
                      .ljust(DEMO_FLOPPY_SIZE, b"\0"))
    proc = subprocess.run(
        ["qemu-system-i386", "-drive", f"file={image},format=raw,if=floppy",
         "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
         "-debugcon", "stdio", "-display", "none"],
        capture_output=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode("latin-1")
    assert "hvmm demo: 386+ GenuineIntel" in out and "36 timer ticks" in out
