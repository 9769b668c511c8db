"""The protected-mode bench guest (guests/bench32.asm -> hvmm/guests/bench32.bin):
the checksum recomputed by a model of its loop, the guest's constants, its
output on QEMU, and on hvmm once protected mode is there.

The model follows the guest's data as linear dwords: the scattered page
mapping changes where they live, not their values, so a wrong translation
on either machine changes the checksum.
"""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hvmm import Cpu, guest_image

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "guests" / "bench32.asm"
QEMU = shutil.which("qemu-system-i386")
M = 0xFFFFFFFF


def constants():
    text = SOURCE.read_text()
    return {k: int(v, 0) for k, v in re.findall(r"^(\w+)\s+equ\s+(\S+)\s*(?:;.*)?$", text, re.M)
            if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", v)}


def checksum(outer, inner, npages):
    """EDX and EBX at the end of the guest's loop."""
    n = npages * 1024
    data = [0] * n
    v = 0x12345678
    for i in range(n):
        data[i] = v
        v = (v + 0x9E3779B9) & M
        v = ((v << 1) | (v >> 31)) & M
    dx = bx = 0
    mask = npages * 4096 - 4
    for _ in range(outer):
        si = 0
        for _ in range(inner):
            s = dx + data[si >> 2]
            dx = s & M
            bx = (bx + dx + (s >> 32)) & M
            dx = ((dx << 1) | (dx >> 31)) & M
            data[(bx & mask) >> 2] ^= dx
            si = (si + 0x1004) & mask
    return dx, bx


@pytest.fixture(scope="module")
def expected_line():
    k = constants()
    assert k["NPAGES"] >= 64                # the acceptance asks for 64 pages
    dx, bx = checksum(k["OUTER"], k["INNER"], k["NPAGES"])
    return b"hvmm bench32: checksum %08X %08X\r\n" % (dx, bx)


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm not installed")
def test_committed_image_is_up_to_date(tmp_path):
    out = tmp_path / "bench32.bin"
    subprocess.run(["nasm", "-f", "bin", "-o", str(out), str(SOURCE)], check=True)
    assert out.read_bytes() == guest_image("bench32"), (
        "hvmm/guests/bench32.bin is stale: run guests/build.sh")


@pytest.mark.skipif(QEMU is None, reason="qemu-system-i386 not installed")
def test_bench32_on_qemu(tmp_path, expected_line):
    image = tmp_path / "bench32.img"
    image.write_bytes(guest_image("bench32"))
    r = subprocess.run([QEMU, "-drive", f"file={image},format=raw,if=floppy",
                        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                        "-debugcon", "stdio", "-display", "none"],
                       capture_output=True, timeout=300)
    assert r.returncode == 1                # (0 << 1) | 1: the guest's exit write
    assert r.stdout == expected_line


def test_bench32_on_hvmm(expected_line):
    cpu = Cpu(memory_size=1 << 20, model="386")
    img = guest_image("bench32")
    cpu.memory[0x7C00:0x7C00 + len(img)] = img
    cpu.cs = cpu.ds = cpu.es = cpu.ss = 0
    cpu.ip = cpu.sp = 0x7C00
    ex = cpu.run(50_000_000)
    assert ex.reason == "debug_exit"
    assert cpu.debug_output() == expected_line
