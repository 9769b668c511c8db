"""A scripted stand-in for ``hvmm._core.Cpu``, for testing the Python side
of the machine (exit dispatch, timers, IRQ lines, statistics) without
depending on what the compiled core does.

``FakeCpu(script)``: each ``run(budget)`` pops the next step of the script,
an ``Exit``-like :class:`FakeExit` (or a callable returning one), advances
virtual time by ``instructions * 1e9 / ips`` and returns it.  Everything the
machine does to the CPU is recorded in ``calls``.
"""

from __future__ import annotations

from dataclasses import dataclass

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
