"""The bundled benchmark guest (guests/bench.asm -> hvmm/guests/bench.bin).

Checks the exact retired-instruction count against the formula documented in
bench.asm, and the checksum and buffer it leaves against a Python model of the
guest, on both CPU models.  Timing is measured in bench/, never here.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hvmm import Cpu, guest_image
from hvmm.cli import BENCH_CHECKSUM

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "guests" / "bench.asm"

LOAD = 0x7C00
BUF, BUF_WORDS = 0x1000, 128
RESULT = 0x0500
FILL_WORDS, INNER, OUTER = 128, 50000, 20

# Instruction counts of each part of bench.asm (a REP string instruction
# counts one per iteration: the REP MOVSW of 127 words counts 127).
SETUP = 10
FILL_PER_WORD = 4
OUTER_SETUP = 3
OUTER_OVERHEAD = 2 + 5 + 127
BODY = 10
MSG, CRLF = b"hvmm bench: checksum ", b"\r\n"


def puts_body(n):
    return 5 * n + 4


HEX4_BODY = 2 + 4 * 9 + 1
EPILOGUE = 18 + puts_body(len(MSG)) + puts_body(len(CRLF)) + 2 * HEX4_BODY

EXPECTED_INSTRUCTIONS = (
    SETUP
    + FILL_WORDS * FILL_PER_WORD
    + OUTER_SETUP
    + OUTER * (OUTER_OVERHEAD + INNER * BODY)
    + EPILOGUE
)
# The write to the exit port 0xF4 (an in-kernel device) ends the run; the
# guest's final `cli; hlt` runs only if the run is resumed.
AT_DEBUG_EXIT = EXPECTED_INSTRUCTIONS - 2


def bench_model(fill_words=FILL_WORDS, inner=INNER, outer=OUTER):
    """What bench.asm computes: (dx, bx, final buffer as 128 words)."""
    buf = []
    ax = 0x1234
    for _ in range(fill_words):  # stosw; add ax, 0x9E37; rol ax, 1; loop
        buf.append(ax)
        ax = (ax + 0x9E37) & 0xFFFF
        ax = ((ax << 1) | (ax >> 15)) & 0xFFFF
    dx = bx = 0
    for _ in range(outer):
        si = 0
        for _ in range(inner):
            ax = buf[si]  # lodsw
            total = dx + ax  # add dx, ax
            dx = total & 0xFFFF
            bx = (bx + dx + (total >> 16)) & 0xFFFF  # adc bx, dx
            dx = ((dx << 1) | (dx >> 15)) & 0xFFFF  # rol dx, 1
            buf[(bx & 0xFE) >> 1] ^= dx  # xor [(bx & 0xFE) + BUF], dx
            si = (si + 1) % BUF_WORDS  # and si, BUF_MASK
        buf[0:127] = buf[1:128]  # rep movsw, forward, one word down
    return dx, bx, buf


@pytest.fixture(scope="module")
def model():
    return bench_model()


def run_guest(model_name):
    """Run bench.bin to its exit; returns (cpu, exit, port 0xE9 output)."""
    cpu = Cpu(memory_size=1 << 20, model=model_name)
    image = guest_image("bench")
    cpu.memory[LOAD : LOAD + len(image)] = image
    cpu.cs = cpu.ds = cpu.es = cpu.ss = 0
    cpu.ip = LOAD
    cpu.sp = LOAD
    out = bytearray()
    for _ in range(1000):
        ex = cpu.run(1 << 22)
        out += cpu.debug_output()
        if ex.reason != "budget":
            return cpu, ex, bytes(out)
    raise AssertionError("bench guest did not halt")


def test_formula(model):
    assert EPILOGUE == 219
    assert EXPECTED_INSTRUCTIONS == 10_003_424
    assert BENCH_CHECKSUM == model[:2]  # the checksum hvmm.cli keeps for the bench guest


def test_source_constants_match():
    """The constants above are the ones in bench.asm."""
    text = SOURCE.read_text()
    equ = dict(re.findall(r"^(\w+)\s+equ\s+(\S+)", text, re.M))
    assert int(equ["FILL_WORDS"], 0) == FILL_WORDS
    assert int(equ["INNER"], 0) == INNER
    assert int(equ["OUTER"], 0) == OUTER
    assert int(equ["BUF"], 0) == BUF
    assert int(equ["RESULT"], 0) == RESULT
    assert "10,003,424" in text


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm not installed")
def test_committed_image_is_up_to_date(tmp_path):
    out = tmp_path / "bench.bin"
    subprocess.run(["nasm", "-f", "bin", "-o", str(out), str(SOURCE)], check=True)
    assert out.read_bytes() == guest_image("bench"), (
        "hvmm/guests/bench.bin is stale: run guests/build.sh"
    )


@pytest.mark.parametrize("model_name", ["8086", "386"])
def test_bench_guest(model_name, model):
    cpu, ex, out = run_guest(model_name)
    # The guest prints its checksum to port 0xE9 and writes 0 to port 0xF4,
    # which ends the run (process exit status (0 << 1) | 1 = 1).
    assert ex.reason == "debug_exit", (ex.reason, ex.detail)
    assert ex.value == 0
    assert cpu.instructions == AT_DEBUG_EXIT
    assert cpu.read_linear(ex.linear, 2) == b"\xfa\xf4"  # stopped before cli; hlt
    assert not cpu.eflags & 0x200  # interrupts off since the first cli
    dx, bx, buf = model
    assert out == MSG + b"%04X %04X" % (dx, bx) + CRLF
    assert out == b"hvmm bench: checksum 93F6 8F0A\r\n"
    assert (cpu.dx, cpu.bx) == (dx, bx) == (0x93F6, 0x8F0A)
    mem = cpu.read_linear(RESULT, 4)
    assert mem == bytes([dx & 0xFF, dx >> 8, bx & 0xFF, bx >> 8])
    words = cpu.read_linear(BUF, 2 * BUF_WORDS)
    got = [words[i] | words[i + 1] << 8 for i in range(0, len(words), 2)]
    assert got == buf
    # 21 + 4 + 1 + 4 + 2 characters to port 0xE9, then the exit port 0xF4:
    # all handled in-kernel, nothing for Python, nothing on the empty bus.
    paths = {
        dev: (c["in_kernel"], c["to_python"], c["unclaimed"])
        for dev, c in cpu.kernel_stats().items()
    }
    assert {dev: n for dev, n in paths.items() if any(n)} == {
        "debugcon": (len(MSG) + 4 + 1 + 4 + len(CRLF), 0, 0),
        "debug-exit": (1, 0, 0),
    }
    assert cpu.io_counts() == {"in": 0, "out": 0}
    # Resumed, the guest runs its cli; hlt: the full documented count.
    ex = cpu.run(100)
    assert ex.reason == "hlt", (ex.reason, ex.detail)
    assert cpu.instructions == EXPECTED_INSTRUCTIONS
    assert (cpu.dx, cpu.bx) == (dx, bx)
