"""Fakes for the Python side's tests, handed out by conftest.py's ``fake``
fixture: a scripted stand-in for ``hvmm._core.Cpu``, for testing the Python
side of the machine (exit dispatch, timers, IRQ lines, statistics) without
depending on what the compiled core does, and small recording devices.

``FakeCpu(script)``: each ``run(budget)`` pops the next step of the script,
an ``Exit``-like :class:`FakeExit` (or a callable returning one), advances
virtual time by ``instructions * 1e9 / ips`` and returns it.  Everything the
machine does to the CPU is recorded in ``calls``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hvmm.devices import PortDevice

NO_DEADLINE = (1 << 64) - 1


@dataclass
class FakeExit:
    reason: str
    port: int = 0
    size: int = 1
    direction: str = "out"
    value: int = 0
    count: int = 1
    data: bytes | None = None
    cs: int = 0
    eip: int = 0x7C00
    linear: int = 0x7C00
    detail: str = ""
    instructions: int = 10  # how many the fake "retires" before this exit


class FakeCpu:
    model = "386"

    def __init__(self, script=(), ips=100_000_000, kernel_ports=None):
        self.script = list(script)
        self.calls = []
        self.instructions = 0
        self.time_ns = 0
        self.ips = ips
        self.python_deadline = NO_DEADLINE
        self.irq = {}
        self.irr = set()  # IRQs with a rising edge not yet acknowledged
        self.claimed = []
        self.completed = []
        self.memory = bytearray(1 << 20)
        self.eflags = 0x2
        self.halted = False
        self.post_code = None
        self.debug = bytearray()
        self.kernel_ports = kernel_ports or {}
        self.kstats = {}
        self.empty_bus = {"in": 0, "out": 0}
        self.cs = self.ds = self.es = self.ss = 0
        self.ip = self.sp = 0
        self.pending_in = False
        self.io_timing = False
        self.mmio = []
        self.keys = []
        self.serial_out = bytearray()

    # the machine's view
    def claim_ports(self, first, last):
        self.claimed.append((first, last))

    def kernel_device_at(self, port):
        return self.kernel_ports.get(port)

    def set_irq(self, irq, level):
        self.calls.append(("set_irq", irq, level))
        if level and not self.irq.get(irq):
            self.irr.add(irq)
        self.irq[irq] = level

    def complete_io(self, value):
        assert self.pending_in, "complete_io without a pending IN"
        self.pending_in = False
        self.completed.append(value)

    def interrupt_pending(self):
        return bool(self.irr)

    def acknowledge_interrupt(self):
        irq = min(self.irr)
        self.irr.discard(irq)
        return 8 + irq

    def advance_time(self, ns):
        self.calls.append(("advance_time", ns))
        self.time_ns += ns

    def debug_output(self):
        out, self.debug = bytes(self.debug), bytearray()
        return out

    def kernel_stats(self):
        return self.kstats

    def io_counts(self):
        return dict(self.empty_bus)

    def map_mmio(self, base, size, handler):
        self.mmio.append((base, size, handler))

    def keyboard_input(self, data):
        self.keys.append(bytes(data))

    def serial_drain(self):
        out, self.serial_out = bytes(self.serial_out), bytearray()
        return out

    def serial_feed(self, data):
        return len(data)

    def read_linear(self, address, length):
        return bytes(self.memory[address : address + length])

    def run(self, budget):
        assert not self.pending_in, "run() before complete_io() of an IN exit"
        if not self.script:
            step = FakeExit("hlt", instructions=1)
        else:
            step = self.script.pop(0)
        if callable(step):
            step = step(self)
        n = min(step.instructions, budget)
        if n < step.instructions and step.reason != "budget":
            # The budget runs out first: report 'budget', keep the step.
            self.script.insert(0, FakeExit(**{**step.__dict__, "instructions": step.instructions - n}))
            step = FakeExit("budget", instructions=n)
        self.instructions += n
        self.time_ns += n * 1_000_000_000 // self.ips
        if step.reason == "io" and step.direction == "in":
            self.pending_in = True
        self.calls.append(("run", budget, step.reason))
        return step


# ---- devices ------------------------------------------------------------------

PORT = 0x510


class Recorder(PortDevice):
    """Answers reads from a script of values and records every call."""

    name = "recorder"

    def __init__(self, ports=(PORT,), reads=()):
        self.ports = list(ports)
        self.reads = list(reads)
        self.log = []

    def io_read(self, port, size):
        self.log.append(("in", port, size))
        return self.reads.pop(0) if self.reads else 0

    def io_write(self, port, size, value):
        self.log.append(("out", port, size, value))


class BlockRecorder(Recorder):
    """With block methods: a REP INS/OUTS must arrive as one call."""

    def io_read_block(self, port, size, count):
        self.log.append(("ins", port, size, count))
        return bytes(range(1, size * count + 1))

    def io_write_block(self, port, size, data):
        self.log.append(("outs", port, size, bytes(data)))


class IrqDevice(PortDevice):
    """OUT 1: pulse IRQ 5 now; OUT 2: pulse it `delay_ns` later."""

    name = "irqdev"
    ports = [PORT]

    def __init__(self, delay_ns=50_000):
        self.delay_ns = delay_ns
        self.fired_at = []

    def attach(self, machine):
        super().attach(machine)
        self.irq = self.irq_line(5)

    def io_write(self, port, size, value):
        if value == 1:
            self.irq.pulse()
        elif value == 2:
            self.call_after(self.delay_ns, self._fire)

    def _fire(self):
        self.fired_at.append(self.now_ns)
        self.irq.pulse()


def python_row(stats, name, path="python"):
    rows = [r for r in stats["rows"] if r["device"] == name and r["path"] == path]
    assert len(rows) == 1, stats["rows"]
    return rows[0]
