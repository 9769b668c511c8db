"""The timer guest (guests/timer.asm -> hvmm/guests/timer.bin).

The guest programs the in-kernel 8259A PICs and 8254 PIT channel 0 (mode 2,
divisor 11932, ~100 Hz), counts 100 IRQ0s in a HLT loop, latches and reads
the PIT count, prints a report to port 0xE9 and exits through port 0xF4.
Run through the core (hvmm._core.Cpu) in deterministic time: the virtual
time must be 100 PIT periods, the HLTs must skip it rather than spin, and
two runs must be identical instruction for instruction.
"""

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hvmm
from hvmm import Cpu, guest_image
from hvmm.machine import Machine

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "guests" / "timer.asm"

LOAD = 0x7C00
PIT_HZ = 1_193_182
TICKS = 100
DIVISOR = 11932
TICKS_ADDR = 0x0500
IRQ0_VECTOR = 0x08
PERIOD_NS = DIVISOR * 10**9 / PIT_HZ  # ~10.0001 ms

REPORT = re.compile(rb"hvmm timer: (\d+) ticks, PIT count (\d+)\r\n")

# Retired instructions of timer.asm, part by part (see the source).
SETUP = 11  # cli, jmp far, cld, xor, 3 x mov sreg, mov sp, 3 x mov [mem]
PIC_INIT = 18  # 8 ICWs + 2 OCW1s: 10 outs and 8 movs
PIT_INIT = 6
PER_TICK = 5 + 6 + 1  # cli/cmp/jae/sti/hlt, the IRQ0 handler, jmp
LOOP_EXIT = 3  # cli/cmp/jae (taken)
LATCH = 8  # mask IRQ0, latch command, read LSB and MSB


def puts_body(n):
    return 5 * n + 4  # lodsb/test/jz/out/jmp per character, then lodsb/test/jz/ret


def putdec_body(value):
    digits = len(str(value))
    return 11 * digits - 1  # 6 + 4 per digit, a recursive call per leading digit


def expected_instructions(count):
    """Instructions retired up to and including `out 0xF4, al`."""
    report = (
        2 + puts_body(len("hvmm timer: "))
        + 2 + putdec_body(TICKS)
        + 2 + puts_body(len(" ticks, PIT count "))
        + 2 + putdec_body(count)
        + 2 + puts_body(2)
    )
    return SETUP + PIC_INIT + PIT_INIT + TICKS * PER_TICK + LOOP_EXIT + LATCH + report + 2


def pit_ticks(ns):
    """PIT input clocks seen by virtual time ns."""
    return ns * PIT_HZ // 10**9


def tick_ns(k):
    """The first nanosecond at which the PIT has seen k clocks."""
    return -(-k * 10**9 // PIT_HZ)


def load(model):
    cpu = Cpu(memory_size=1 << 20, model=model)
    image = guest_image("timer")
    cpu.memory[LOAD : LOAD + len(image)] = image
    cpu.cs = cpu.ds = cpu.es = cpu.ss = 0
    cpu.ip = LOAD
    cpu.sp = LOAD
    return cpu


def run_guest(model):
    """Run to the guest's exit; returns (cpu, exit, port 0xE9 output)."""
    cpu = load(model)
    out = bytearray()
    for _ in range(1000):
        ex = cpu.run(1 << 20)
        out += cpu.debug_output()
        if ex.reason != "budget":
            return cpu, ex, bytes(out)
    raise AssertionError("timer guest did not finish")


@pytest.fixture(scope="module", params=["8086", "386"])
def run(request):
    return run_guest(request.param)


def test_image_is_a_boot_sector():
    image = guest_image("timer")
    assert len(image) == 512 and image[510:] == b"\x55\xaa"


def test_source_constants_match():
    text = SOURCE.read_text()
    equ = dict(re.findall(r"^(\w+)\s+equ\s+(\S+)", text, re.M))
    assert int(equ["TICKS"], 0) == TICKS
    assert int(equ["DIVISOR"], 0) == DIVISOR
    assert int(equ["TICKS_ADDR"], 0) == TICKS_ADDR
    assert int(equ["IRQ0_VECTOR"], 0) == IRQ0_VECTOR


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm not installed")
def test_committed_image_is_up_to_date(tmp_path):
    out = tmp_path / "timer.bin"
    subprocess.run(["nasm", "-f", "bin", "-o", str(out), str(SOURCE)], check=True)
    assert out.read_bytes() == guest_image("timer"), (
        "hvmm/guests/timer.bin is stale: run guests/build.sh"
    )


def test_output_and_exit(run):
    cpu, ex, out = run
    assert ex.reason == "debug_exit", (ex.reason, ex.detail)
    assert ex.value == 0  # process exit status (0 << 1) | 1 = 1
    m = REPORT.fullmatch(out)
    assert m, out
    assert int(m[1]) == TICKS
    count = int(m[2])
    assert 0 < count <= DIVISOR
    assert cpu.read_linear(TICKS_ADDR, 2) == TICKS.to_bytes(2, "little")
    # stopped at the OUT to 0xF4, before the guest's own cli; hlt
    assert cpu.read_linear(ex.linear, 2) == b"\xfa\xf4"
    assert cpu.post_code == 0  # nothing written to port 0x80


def test_instruction_count(run):
    cpu, _, out = run
    count = int(REPORT.fullmatch(out)[2])
    assert cpu.instructions == expected_instructions(count)


def test_virtual_time_is_100_pit_periods(run):
    cpu, _, out = run
    t = cpu.time_ns
    # The brief's check: N periods, within one period.
    assert abs(t - TICKS * PERIOD_NS) < PERIOD_NS, t
    # Tighter. The count's MSB is written by instruction 35 (SETUP +
    # PIC_INIT + PIT_INIT), at PIT clock w; IRQ0 number k rises at clock
    # w + 1 + k * DIVISOR. The guest wakes from its last HLT then (after
    # 99 * PER_TICK + 5 + 36 instructions) and runs the rest at 1/ips each.
    ns_per_insn = 10**9 / cpu.ips
    before_write = SETUP + PIC_INIT + PIT_INIT
    w_lo = pit_ticks(int((before_write - 1) * ns_per_insn))
    w_hi = pit_ticks(int((before_write + 1) * ns_per_insn) + 1)
    after_wake = cpu.instructions - (before_write + (TICKS - 1) * PER_TICK + 5)
    assert 0 < after_wake < 400
    assert tick_ns(w_lo + 1 + TICKS * DIVISOR) <= t
    assert t <= tick_ns(w_hi + 1 + TICKS * DIVISOR) + (after_wake + 1) * ns_per_insn
    # The latched count: DIVISOR at the 100th reload (clock w + 1 +
    # 100 * DIVISOR), one less per clock after; the latch comes a few
    # instructions after the interrupt, and before the end (clock <= pit_ticks(t)).
    count = int(REPORT.fullmatch(out)[2])
    elapsed_clocks = DIVISOR - count
    assert 0 <= elapsed_clocks <= pit_ticks(t) - (w_lo + 1 + TICKS * DIVISOR)
    assert elapsed_clocks <= pit_ticks(int((after_wake + 1) * ns_per_insn)) + 1


def test_all_port_accesses_in_kernel(run):
    """Every port the guest touches is an in-kernel device: no exit to
    Python, nothing unclaimed."""
    cpu, _, _ = run
    stats = cpu.kernel_stats()
    in_kernel = {dev: c["in_kernel"] for dev, c in stats.items() if c["in_kernel"]}
    assert in_kernel == {
        "pic": 10 + TICKS + 1,  # ICWs and OCW1s, one EOI per tick, the final mask
        "pit": 3 + 1 + 2,  # control word and count, latch command, two reads
        "debugcon": len("hvmm timer: 100 ticks, PIT count \r\n") + 5,
        "debug-exit": 1,
    }
    assert all(c["to_python"] == 0 and c["unclaimed"] == 0 for c in stats.values())
    assert cpu.io_counts() == {"in": 0, "out": 0}


def test_hlt_skips_virtual_time(run):
    """The HLT loop idles: retired instructions are a tiny fraction of
    what the CPU would execute in the elapsed virtual time."""
    cpu, _, _ = run
    busy_equivalent = cpu.time_ns * cpu.ips // 10**9
    assert cpu.instructions < 5000
    assert cpu.instructions * 100 < busy_equivalent, (cpu.instructions, busy_equivalent)


@pytest.mark.parametrize("model", ["8086", "386"])
def test_deterministic(model):
    a_cpu, a_ex, a_out = run_guest(model)
    b_cpu, b_ex, b_out = run_guest(model)
    assert a_out == b_out
    assert a_cpu.instructions == b_cpu.instructions
    assert a_cpu.time_ns == b_cpu.time_ns
    assert (a_ex.reason, a_ex.linear, a_ex.value) == (b_ex.reason, b_ex.linear, b_ex.value)
    regs = ("ax", "bx", "cx", "dx", "si", "di", "sp", "bp", "flags")
    assert [getattr(a_cpu, r) for r in regs] == [getattr(b_cpu, r) for r in regs]


def test_same_instruction_count_on_both_models():
    """8086-only code: both models retire the same instructions (the PIT
    count, and so its number of decimal digits, may differ if the models'
    instruction rates differ)."""
    counts = {}
    for model in ("8086", "386"):
        cpu, _, out = run_guest(model)
        counts[model] = cpu.instructions - expected_instructions(int(REPORT.fullmatch(out)[2]))
    assert counts == {"8086": 0, "386": 0}


def test_through_machine():
    """The same run through hvmm.machine.Machine (no Python devices)."""
    out = io.BytesIO()
    m = Machine(cpu="386", memory_mb=1, debug_stream=out)
    m.load_image(guest_image("timer"))
    stop = m.run()
    assert (stop.reason, stop.value, stop.status) == ("debug_exit", 0, 1)
    _, _, core_out = run_guest("386")
    assert out.getvalue() == core_out
    assert m.cpu.instructions == expected_instructions(int(REPORT.fullmatch(core_out)[2]))
    stats = m.stats(estimate_kernel_time=False)
    assert stats["paths"]["python"]["count"] == 0
    assert stats["paths"]["unclaimed"]["count"] == 0


def test_hvmm_exec(tmp_path):
    """`hvmm exec timer.bin`: the report on stdout, process status 1."""
    env = dict(os.environ)
    parent = os.path.dirname(os.path.dirname(os.path.abspath(hvmm.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (parent, env.get("PYTHONPATH")) if p)
    image = os.path.join(os.path.dirname(hvmm.__file__), "guests", "timer.bin")
    proc = subprocess.run(
        [sys.executable, "-m", "hvmm", "exec", image, "--cpu", "8086"],
        cwd=tmp_path, env=env, capture_output=True, timeout=120,
    )
    assert b"Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr  # (0 << 1) | 1
    assert REPORT.fullmatch(proc.stdout), proc.stdout


QEMU = shutil.which("qemu-system-i386")


@pytest.mark.skipif(QEMU is None, reason="qemu-system-i386 not installed")
def test_runs_on_qemu(tmp_path):
    """Standard PC behaviour only: the same image boots on QEMU (SeaBIOS
    loads it from a floppy) and reports 100 ticks through the same ports."""
    image = tmp_path / "timer.img"
    image.write_bytes(guest_image("timer"))
    proc = subprocess.run(
        [QEMU, "-drive", f"file={image},format=raw,if=floppy",
         "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
         "-debugcon", "stdio", "-display", "none", "-nodefaults"],
        capture_output=True, timeout=60,
    )
    assert proc.returncode == 1, proc.stderr  # (0 << 1) | 1
    m = REPORT.fullmatch(proc.stdout)
    assert m, proc.stdout
    assert int(m[1]) == TICKS
    assert 0 < int(m[2]) <= DIVISOR
