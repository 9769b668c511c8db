"""REP INS/OUTS that stop part-way: when an in-kernel device asks to stop
the run (the debug console's buffer is full, a debug exit), or a Python
port's block is cut at IO_BLOCK_MAX elements, the instruction keeps its
progress in ECX/ESI/EDI and resumes at the next run: nothing is lost or
repeated."""

import io
import os
import subprocess
import sys

import pytest

from hvmm.devices import PortDevice
from hvmm.machine import Machine

import hvmm

LOAD = 0x7C00
SOURCE = 0x10000            # where the OUTS data start (DS = 0, a32 offsets)
PY_PORT = 0x510


def rep_string_guest(count, port, op=b"\x6e"):
    """cld; mov dx, port; mov esi, SOURCE; mov edi, SOURCE; mov ecx, count;
    a32 rep <op>; mov al, 0; out 0xF4, al (debug exit 0)."""
    return (b"\xfc\xba" + port.to_bytes(2, "little")
            + b"\x66\xbe" + SOURCE.to_bytes(4, "little")
            + b"\x66\xbf" + SOURCE.to_bytes(4, "little")
            + b"\x66\xb9" + count.to_bytes(4, "little")
            + b"\xf3\x67" + op + b"\xb0\x00\xe6\xf4")


def pattern(n: int) -> bytes:
    return bytes((i * 7 + (i >> 8)) & 0xFF for i in range(n))


def machine(code, data=b"", devices=(), out=None):
    m = Machine(cpu="386", memory_mb=4, devices=list(devices),
                debug_stream=out if out is not None else io.BytesIO())
    m.load_image(code)
    m.cpu.memory[SOURCE:SOURCE + len(data)] = data
    # "Unreal" DS and ES (4 GiB limits), as a real-mode program sets them up
    # through protected mode: a32 offsets past FFFF would fault otherwise.
    for seg in ("ds", "es"):
        m.cpu.set_segment(seg, 0, base=0, limit=0xFFFFFFFF)
    return m


def rep16_guest(n, port):
    """n bytes of memory from 0000:0000 to `port` in 16-bit REP OUTSBs of at
    most 32 KiB (a real-mode program cannot pass offset FFFF), then debug
    exit 0."""
    code = b"\xfc\x31\xc0\x8e\xd8\xba" + port.to_bytes(2, "little")   # cld; xor ax,ax; mov ds,ax
    while n:
        chunk = min(n, 0x8000)
        code += b"\x31\xf6\xb9" + chunk.to_bytes(2, "little") + b"\xf3\x6e"  # xor si,si; mov cx; rep outsb
        n -= chunk
    return code + b"\xb0\x00\xe6\xf4"


def test_rep_outsb_to_the_debug_console_loses_nothing():
    # More than four buffers' worth (64 KiB each), not a multiple of one.
    n = 4 * 65536 + 12345
    out = io.BytesIO()
    m = machine(rep_string_guest(n, 0xE9), pattern(n), out=out)
    stop = m.run(n + 1000)
    assert stop.reason == "debug_exit" and stop.value == 0
    assert out.getvalue() == pattern(n)
    assert m.cpu.ecx == 0 and m.cpu.esi == SOURCE + n
    assert stop.instructions == 7 + n   # each element one step, however often it stopped
    assert m.stats()["exits"]["budget"] >= 4      # a drain per full buffer


def test_rep_outsb_to_the_debug_console_through_exec(tmp_path):
    """The issue's case, smaller: stdout gets every byte the guest wrote."""
    n = 3 * 65536 + 5
    guest = tmp_path / "outs.bin"
    guest.write_bytes(rep16_guest(n, 0xE9))
    env = dict(os.environ)
    parent = os.path.dirname(os.path.dirname(os.path.abspath(hvmm.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (parent, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-m", "hvmm", "exec", str(guest)], cwd=tmp_path,
                          env=env, capture_output=True, timeout=120)
    assert b"Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr        # debug exit 0
    assert len(proc.stdout) == n


def test_debug_exit_inside_rep_outsb_stops_at_that_element():
    # rep outsb to port 0xF4: the first byte ends the run; ECX/ESI say so.
    m = machine(rep_string_guest(3, 0xF4), b"\x05\x07\x09")
    stop = m.run(1000)
    assert stop.reason == "debug_exit" and stop.value == 5
    assert m.cpu.ecx == 2 and m.cpu.esi == SOURCE + 1


class Sink(PortDevice):
    name = "sink"
    ports = [PY_PORT]

    def __init__(self):
        self.received = bytearray()
        self.blocks = 0

    def io_read(self, port, size):
        return 0

    def io_write(self, port, size, value):
        self.received.append(value)

    def io_write_block(self, port, size, data):
        self.blocks += 1
        self.received += data

    def io_read_block(self, port, size, count):
        self.blocks += 1
        start = len(self.received)
        self.received += pattern(start + count)[start:]
        return pattern(start + count)[start:]


def test_rep_outsb_to_a_python_port_beyond_one_block():
    n = 2 * 65536 + 777
    sink = Sink()
    m = machine(rep_string_guest(n, PY_PORT), pattern(n), devices=[sink])
    stop = m.run(n + 1000)
    assert stop.reason == "debug_exit", stop
    assert bytes(sink.received) == pattern(n) and sink.blocks == 3
    # each element one step, as for an in-kernel port
    assert m.cpu.ecx == 0 and stop.instructions == 7 + n


def test_rep_insb_from_a_python_port_beyond_one_block():
    n = 2 * 65536 + 777
    sink = Sink()
    m = machine(rep_string_guest(n, PY_PORT, op=b"\x6c"), devices=[sink])
    stop = m.run(n + 1000)
    assert stop.reason == "debug_exit", stop
    assert sink.blocks == 3
    assert bytes(m.cpu.memory[SOURCE:SOURCE + n]) == pattern(n)
    assert m.cpu.ecx == 0 and m.cpu.edi == SOURCE + n and stop.instructions == 7 + n


@pytest.mark.parametrize("op", [b"\x6e", b"\x6c"], ids=["outsb", "insb"])
def test_rep_string_io_to_a_python_port_stops_at_the_budget(op):
    """The budget ends a block between elements, the next run goes on;
    5 instructions before the REP, 2 after it."""
    n = 5000
    sink = Sink()
    m = machine(rep_string_guest(n, PY_PORT, op=op), pattern(n), devices=[sink])
    stop = m.run(2000)
    assert stop.reason == "limit" and stop.instructions == 2000
    assert m.cpu.ecx == n - 1995 and len(sink.received) == 1995
    stop = m.run(n)
    assert stop.reason == "debug_exit" and m.cpu.instructions == 7 + n
    assert len(sink.received) == n and m.cpu.ecx == 0


class AnsweringSink(Sink):
    def io_read(self, port, size):
        self.received.append(0xA5)
        return 0xA5


@pytest.mark.parametrize("op", [b"\x6e", b"\x6c"], ids=["outsb", "insb"])
def test_rep_string_io_of_one_element_to_a_python_port(op):
    # a block of one goes to the device as one IN or OUT
    sink = AnsweringSink()
    m = machine(rep_string_guest(1, PY_PORT, op=op), b"\x42", devices=[sink])
    stop = m.run(100)
    assert stop.reason == "debug_exit" and stop.instructions == 8, stop
    assert sink.blocks == 0 and m.cpu.ecx == 0
    if op == b"\x6e":
        assert bytes(sink.received) == b"\x42"
    else:
        assert bytes(sink.received) == b"\xa5" and m.cpu.memory[SOURCE] == 0xA5
