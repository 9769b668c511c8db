"""The Python side of the machine on a scripted fake CPU (tests/fakes.py,
the ``fake`` fixture): what Machine, its bus, clock and statistics do with
each kind of exit, without depending on what the compiled core does.
"""

import io

import pytest

from hvmm.devices import NO_DEADLINE, IrqLine, MmioDevice, PortDevice, VirtualClock, normalize_ports
from hvmm.errors import ConfigError, DeviceError
from hvmm.machine import Machine
from hvmm.status import ExitStatus

PORT = 0x510


def test_normalize_ports():
    assert normalize_ports([0x511, (0x510, 0x510), range(0x60, 0x62)]) == [(0x60, 0x61), (0x510, 0x511)]
    assert normalize_ports([(1, 5), (3, 9), 10]) == [(1, 10)]
    assert normalize_ports([]) == []
    for bad in ([0x10000], [(5, 4)], [(-1, 2)], ["0x60"], [(1, 2, 3)], 0x60, (0x60, 0x61), [True]):
        with pytest.raises(ConfigError):
            normalize_ports(bad)


def test_bad_ports_name_the_device(fake):
    dev = fake.Recorder(ports=[(0x20, 0x10)])
    with pytest.raises(ConfigError, match=r"^device 'recorder': bad port range"):
        Machine(cpu=fake.Cpu(), devices=[dev])


def test_claims_ports_and_notes_kernel_device_in_front(fake):
    cpu = fake.Cpu(kernel_ports={0x80: "post"})
    dev = fake.Recorder(ports=[0x80, (0x510, 0x511)])
    m = Machine(cpu=cpu, devices=[dev])
    assert cpu.claimed == [(0x80, 0x80), (0x510, 0x511)]
    row = fake.python_row(m.stats(), "recorder")
    assert row["behind"] == "post" and row["ports"] == "0x80,0x510-0x511"


def test_not_a_device(fake):
    with pytest.raises(ConfigError, match="is not a device"):
        Machine(cpu=fake.Cpu(), devices=[object()])


def test_reserved_irq_is_refused(fake):
    class Greedy(PortDevice):
        name = "greedy"

        def attach(self, machine):
            super().attach(machine)
            self.irq = self.irq_line(4)

    with pytest.raises(ConfigError, match=r"^device 'greedy': IRQ 4 is taken by the in-kernel COM1 UART$"):
        Machine(cpu=fake.Cpu(), devices=[Greedy()])


def test_irq_lines_are_wired_or(fake):
    cpu = fake.Cpu()
    m = Machine(cpu=cpu)
    a, b = m.irq_line(5), m.irq_line(5)
    a.raise_()
    b.raise_()   # already high: no new edge
    a.lower()    # b still holds it
    assert cpu.calls == [("set_irq", 5, 1)]
    b.lower()
    assert cpu.calls[-1] == ("set_irq", 5, 0)
    a.pulse()
    assert cpu.calls[-2:] == [("set_irq", 5, 1), ("set_irq", 5, 0)]
    assert (a.edges, b.edges) == (2, 0)
    with pytest.raises(ConfigError):
        m.irq_line(16)


def test_irq_line_standalone(fake):
    cpu = fake.Cpu()
    line = IrqLine(cpu, 7)
    line.pulse()
    line.pulse()
    assert cpu.calls == [("set_irq", 7, 1), ("set_irq", 7, 0)] * 2


def test_virtual_clock_queue_and_deadline(fake):
    cpu = fake.Cpu()
    clock = VirtualClock(cpu)
    assert cpu.python_deadline == NO_DEADLINE
    log = []
    clock.call_at(300, log.append, "c")
    b = clock.call_at(200, log.append, "b")
    clock.call_at(100, log.append, "a")
    clock.call_at(100, log.append, "a2")  # same time: in scheduling order
    assert cpu.python_deadline == 100
    b.cancel()
    assert cpu.python_deadline == 100
    cpu.time_ns = 250
    assert clock.fire_due() == 2
    assert log == ["a", "a2"]
    assert cpu.python_deadline == 300
    cpu.time_ns = 300
    clock.fire_due()
    assert log == ["a", "a2", "c"]
    assert cpu.python_deadline == NO_DEADLINE
    assert not b.active and clock.pending() == 0


def test_virtual_clock_periodic_and_cancel_inside_callback(fake):
    cpu = fake.Cpu()
    clock = VirtualClock(cpu)
    ticks = []

    def tick():
        ticks.append(cpu.time_ns)
        if len(ticks) == 3:
            timer.cancel()

    timer = clock.call_every(100, tick)
    for t in (100, 150, 200, 300, 400, 500):
        cpu.time_ns = t
        clock.fire_due()
    assert ticks == [100, 200, 300]
    assert cpu.python_deadline == NO_DEADLINE


def test_periodic_timer_coalesces_missed_periods(fake):
    cpu = fake.Cpu()
    clock = VirtualClock(cpu)
    n = []
    timer = clock.call_every(10, lambda: n.append(cpu.time_ns))
    cpu.time_ns = 55
    clock.fire_due()
    assert n == [55] and timer.overruns == 4 and timer.when == 60


def test_many_cancelled_timers_are_compacted(fake):
    cpu = fake.Cpu()
    clock = VirtualClock(cpu)
    keep = clock.call_at(10_000, lambda: None)
    for i in range(1000):
        clock.call_at(20_000 + i, lambda: None).cancel()
    assert len(clock._heap) < 200
    assert cpu.python_deadline == keep.when


def test_machine_dispatches_exits_on_a_fake_cpu(fake):
    dev = fake.BlockRecorder(reads=[0x1234])
    cpu = fake.Cpu([
        fake.Exit("io", port=PORT, direction="in", size=2),
        fake.Exit("io", port=PORT, direction="out", size=1, value=7),
        fake.Exit("io", port=PORT, direction="in", size=4, count=3),
        fake.Exit("io", port=PORT, direction="out", size=2, count=2, data=b"\x01\x02\x03\x04"),
        fake.Exit("budget", instructions=100),
        fake.Exit("debug_exit", value=0x80),
    ])
    cpu.debug += b"guest says hi\n"
    out = io.BytesIO()
    m = Machine(cpu=cpu, devices=[dev], debug_stream=out)
    stop = m.run()
    assert stop.reason == "debug_exit" and stop.value == 0x80
    assert stop.status == ((0x80 << 1) | 1) & 0xFF
    assert cpu.completed == [0x1234, bytes(range(1, 13))]
    assert dev.log == [
        ("in", PORT, 2), ("out", PORT, 1, 7), ("ins", PORT, 4, 3), ("outs", PORT, 2, b"\x01\x02\x03\x04"),
    ]
    assert out.getvalue() == b"guest says hi\n"
    assert stop.instructions == 150
    st = m.stats()
    assert st["exits"] == {"io": 4, "budget": 1, "debug_exit": 1}
    assert st["instructions"] == 150


def test_block_read_of_the_wrong_length_is_a_device_error(fake):
    class Short(PortDevice):
        name = "short"
        ports = [PORT]

        def io_read_block(self, port, size, count):
            return b"\x00"

    cpu = fake.Cpu([fake.Exit("io", port=PORT, direction="in", size=2, count=4)])
    m = Machine(cpu=cpu, devices=[Short()])
    with pytest.raises(DeviceError, match=r"returned 1 bytes, expected 8"):
        m.run()


def test_read_must_return_an_int(fake):
    class Wrong(PortDevice):
        name = "wrong"
        ports = [PORT]

        def io_read(self, port, size):
            return "0x10"

    cpu = fake.Cpu([fake.Exit("io", port=PORT, direction="in")])
    with pytest.raises(DeviceError, match=r"^device 'wrong' failed on IN port 0x0510.*not an int"):
        Machine(cpu=cpu, devices=[Wrong()]).run()


def test_timer_exit_fires_device_timers_with_stats(fake):
    class T(PortDevice):
        name = "t"

        def attach(self, machine):
            super().attach(machine)
            self.hits = []
            self.call_after(500, self.hit)

        def hit(self):
            self.hits.append(self.now_ns)

    cpu = fake.Cpu([fake.Exit("timer", instructions=60), fake.Exit("hlt")])
    dev = T()
    m = Machine(cpu=cpu, devices=[dev])
    assert cpu.python_deadline == 500
    stop = m.run()
    assert stop.reason == "hlt" and dev.hits == [600]
    assert fake.python_row(m.stats(), "t", "timer")["count"] == 1
    assert cpu.python_deadline == NO_DEADLINE


def test_timer_exception_names_the_device(fake):
    class T(PortDevice):
        name = "t"

        def attach(self, machine):
            super().attach(machine)
            self.call_after(1, self.boom)

        def boom(self):
            raise RuntimeError("oops")

    cpu = fake.Cpu([fake.Exit("timer")])
    with pytest.raises(DeviceError, match=r"^device 't' failed in timer T.boom: RuntimeError: oops"):
        Machine(cpu=cpu, devices=[T()]).run()


def test_hlt_with_if_set_skips_to_a_python_timer(fake):
    # A core that does not count python_deadline as a wake-up source stops
    # with 'hlt': Machine skips virtual time to the timer, fires it, and
    # resumes when that left an interrupt pending.
    dev = fake.IrqDevice(delay_ns=1000)
    cpu = fake.Cpu([fake.Exit("hlt"), fake.Exit("debug_exit", value=1)])
    cpu.eflags = 0x202
    m = Machine(cpu=cpu, devices=[dev])
    dev.io_write(PORT, 1, 2)  # arm the timer at t=1000
    stop = m.run()
    assert stop.reason == "debug_exit"
    assert ("advance_time", 900) in cpu.calls  # 10 instructions at 100 MIPS: t=100
    assert dev.fired_at == [1000]
    assert cpu.halted is False


def test_hlt_with_if_clear_stops(fake):
    cpu = fake.Cpu([fake.Exit("hlt")])
    m = Machine(cpu=cpu, devices=[fake.IrqDevice()])
    m.devices[0].io_write(PORT, 1, 2)
    assert m.run().reason == "hlt"


def test_limit_error_and_interrupt_stops(fake):
    cpu = fake.Cpu([fake.Exit("budget", instructions=1000)] * 5)
    stop = Machine(cpu=cpu).run(max_instructions=2500)
    assert (stop.reason, stop.status, stop.instructions) == ("limit", ExitStatus.LIMIT, 2500)

    cpu = fake.Cpu([fake.Exit("invalid_opcode", linear=0x7C00)])
    cpu.memory[0x7C00:0x7C02] = b"\x0f\x0b"
    stop = Machine(cpu=cpu).run()
    assert stop.status == ExitStatus.GUEST_FAULT and stop.error.startswith("invalid opcode at 0000:7C00 (linear 0x7C00, real mode): 0F 0B")

    def interrupt(cpu):
        raise KeyboardInterrupt

    stop = Machine(cpu=fake.Cpu([interrupt])).run()
    assert (stop.reason, stop.status) == ("interrupted", 130)


def test_mmio_device_at_the_python_level(fake):
    class Regs(MmioDevice):
        name = "regs"
        mmio_base = 0xFEB00000
        mmio_size = 0x1000

        def __init__(self):
            self.mem = {}

        def mmio_read(self, offset, size):
            return self.mem.get(offset, 0)

        def mmio_write(self, offset, size, value):
            self.mem[offset] = value

    class Other(MmioDevice):
        name = "other"
        mmio_base = 0xFEAFF000
        mmio_size = 0x2000

    cpu = fake.Cpu()
    m = Machine(cpu=cpu, devices=[Regs()])
    assert [(base, size) for base, size, _ in cpu.mmio] == [(0xFEB00000, 0x1000)]
    m.mmio_write(0xFEB00010, 4, 0x1_2345_6789)
    assert m.mmio_read(0xFEB00010, 2) == 0x6789
    assert m.mmio_read(0xFEB00010, 4) == 0x23456789
    assert m.mmio_read(0xFEC00000, 4) == 0xFFFFFFFF  # nobody there
    assert fake.python_row(m.stats(), "regs")["count"] == 3
    with pytest.raises(ConfigError, match=r"^devices 'regs' and 'other' both claim memory at 0xFEB00000$"):
        m.add_device(Other())


def test_duplicate_names_get_a_suffix_and_lookup(fake):
    a, b = fake.Recorder(ports=[1]), fake.Recorder(ports=[2])
    m = Machine(cpu=fake.Cpu(), devices=[a, b])
    assert (a.name, b.name) == ("recorder", "recorder#2")
    assert m.device("recorder#2") is b
    with pytest.raises(ConfigError, match="added twice"):
        m.add_device(a)


def test_ips_only_when_the_machine_makes_the_cpu(fake):
    with pytest.raises(ConfigError):
        Machine(cpu=fake.Cpu(ips=1000), ips=5000)
    with pytest.raises(ConfigError):
        Machine(cpu=fake.Cpu(), ips=0)


def test_attach_failure_is_a_config_error(fake):
    class Fussy(PortDevice):
        name = "fussy"

        def attach(self, machine):
            super().attach(machine)
            raise RuntimeError("no\nway")

    with pytest.raises(ConfigError, match=r"^device 'fussy': attach failed: RuntimeError: no way \(test_machine_python_side.py:\d+ in attach\)$"):
        Machine(cpu=fake.Cpu(), devices=[Fussy()])




@pytest.mark.parametrize("base, size", [(0xFEB00800, 0x1000), (0xFEB00000, 0x800), (0x10, 0x1000)])
def test_unaligned_mmio_range_is_refused(fake, base, size):
    """The core maps whole 4 KiB pages: an unaligned range would take pages
    it does not cover (from 0, the interrupt vector table, for a base of
    0x10), so it is refused, and nothing is mapped."""

    class Regs(MmioDevice):
        name = "regs"
        mmio_base = base
        mmio_size = size

    cpu = fake.Cpu()
    with pytest.raises(ConfigError, match=r"^device 'regs': MMIO range .* is not page-aligned"):
        Machine(cpu=cpu, devices=[Regs()])
    assert cpu.mmio == []


def test_an_object_that_is_not_a_core_is_refused_by_name():
    class NotACore:
        model = "386"

    with pytest.raises(ConfigError, match=r"^NotACore is not an hvmm core: it has no .*complete_io"):
        Machine(cpu=NotACore())
