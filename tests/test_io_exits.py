"""Exit counts of the three port I/O paths that bench/test_io_speed.py times.

The same guest loop as there (BP iterations of 64 x `out dx, al`, then
`dec bp; jnz`, `cli; hlt`), with the port in DX:

* an in-kernel device (port 0x80, the POST port; 0x21, the PIC's IMR)
  handles every OUT in C: the whole loop is one `cpu.run()` with no exit;
* a port Python claimed (0x510) costs exactly one 'io' exit per OUT, through
  the bare core and through Machine with a PortDevice;
* a port nobody claims is the empty bus: no exit, counted as unclaimed.

Counts only; speed is measured in bench/, never here.
"""

import io

import pytest

from hvmm import Cpu
from hvmm.devices import PortDevice
from hvmm.machine import Machine

LOAD = 0x7C00
UNROLL = 64
OUT_LOOP = b"\xee" * UNROLL + bytes.fromhex("4d75bdfaf4")  # see bench/test_io_speed.py
ITERS = 50
OUTS = ITERS * UNROLL
INSTRUCTIONS = ITERS * (UNROLL + 2) + 2
PY_PORT = 0x510


def out_guest(port, iters=ITERS, value=0xA5):
    cpu = Cpu(memory_size=1 << 20, model="386")
    cpu.memory[LOAD : LOAD + len(OUT_LOOP)] = OUT_LOOP
    cpu.cs = cpu.ds = cpu.es = cpu.ss = 0
    cpu.ip = cpu.sp = LOAD
    cpu.dx = port
    cpu.al = value
    cpu.bp = iters
    return cpu


def stats_of(cpu, device):
    """(in_kernel, to_python, unclaimed) accesses of one in-kernel device."""
    c = cpu.kernel_stats().get(device, {})
    return tuple(c.get(path, 0) for path in ("in_kernel", "to_python", "unclaimed"))


def python_paths(cpu):
    return sum(c["to_python"] for c in cpu.kernel_stats().values())


@pytest.mark.parametrize("port, device, value", [(0x80, "post", 0xA5), (0x21, "pic", 0xFF)])
def test_in_kernel_out_makes_no_exit(port, device, value):
    cpu = out_guest(port, value=value)
    ex = cpu.run(1 << 30)  # one call: nothing leaves the core
    assert ex.reason == "hlt", (ex.reason, ex.detail)
    assert cpu.instructions == INSTRUCTIONS
    assert stats_of(cpu, device) == (OUTS, 0, 0)
    assert python_paths(cpu) == 0
    assert cpu.kernel_device_at(port) == device
    if port == 0x80:
        assert cpu.post_code == value
    else:
        assert cpu.io_read(port, 1) == value


def test_python_port_one_exit_per_out_bare_core():
    cpu = out_guest(PY_PORT)
    cpu.claim_ports(PY_PORT, PY_PORT)
    exits = 0
    while True:
        ex = cpu.run(1 << 30)
        if ex.reason != "io":
            break
        exits += 1
        assert (ex.port, ex.size, ex.direction, ex.value) == (PY_PORT, 1, "out", 0xA5)
    assert ex.reason == "hlt", (ex.reason, ex.detail)
    assert exits == OUTS
    assert cpu.instructions == INSTRUCTIONS
    assert python_paths(cpu) == OUTS
    assert cpu.kernel_device_at(PY_PORT) is None


def test_python_port_one_exit_per_out_machine():
    class Recorder(PortDevice):
        name = "recorder"
        ports = [PY_PORT]

        def __init__(self):
            self.writes = []

        def io_write(self, port, size, value):
            self.writes.append((port, size, value))

    dev = Recorder()
    m = Machine(cpu=out_guest(PY_PORT), devices=[dev], debug_stream=io.BytesIO())
    stop = m.run()
    assert stop.reason == "hlt"
    assert dev.writes == [(PY_PORT, 1, 0xA5)] * OUTS
    stats = m.stats(estimate_kernel_time=False)
    assert stats["exits"].get("io") == OUTS
    (row,) = [r for r in stats["rows"] if r["device"] == "recorder"]
    assert (row["path"], row["count"], row["writes"], row["reads"]) == ("python", OUTS, OUTS, 0)
    assert stats["paths"]["in-kernel"]["count"] == 0
    assert python_paths(m.cpu) == OUTS


def test_unclaimed_port_is_the_empty_bus():
    cpu = out_guest(PY_PORT)
    ex = cpu.run(1 << 30)
    assert ex.reason == "hlt"
    assert python_paths(cpu) == 0
    assert sum(c["unclaimed"] for c in cpu.kernel_stats().values()) == OUTS
    assert sum(c["in_kernel"] for c in cpu.kernel_stats().values()) == 0
