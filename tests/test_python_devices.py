"""Python devices through Machine: port I/O exits, REP INS/OUTS blocks, a
Python device behind an in-kernel one, port conflicts, IRQ lines, timers on
the virtual clock, the debug ports and the statistics.

Two halves: tests on the real core (hvmm._core.Cpu) with tiny guests, and
tests of the Python side alone on a scripted fake CPU (tests/fakecpu.py),
which pin down what Machine does with each kind of exit.

The guests are hand-assembled bytes; their NASM source is beside them and
test_guest_bytes_match_source reassembles them when nasm is installed.
"""

import io
import shutil
import subprocess

import pytest
from fakecpu import FakeCpu, FakeExit

from hvmm import Cpu
from hvmm.devices import NO_DEADLINE, IrqLine, MmioDevice, PortDevice, VirtualClock, normalize_ports
from hvmm.errors import ConfigError, DeviceError
from hvmm.machine import Machine

CORE_HAS_BUS = hasattr(Cpu, "complete_io")
needs_core_bus = pytest.mark.skipif(
    not CORE_HAS_BUS, reason="the core has no Python I/O exits yet (issue 3)"
)

PORT = 0x510

# ---- guests (org 0x7C00, loaded by Machine.load_image at 0000:7C00) --------

GUESTS = {}


def guest(name, source, hexbytes):
    GUESTS[name] = (source, bytes.fromhex(hexbytes))
    return GUESTS[name][1]


IO_GUEST = guest("io", """
        cpu 386
        org 0x7C00
        mov dx, 0x510           ; BA 10 05
        in al, dx               ; EC
        mov bl, al              ; 88 C3
        in ax, dx               ; ED
        mov cx, ax              ; 89 C1
        in eax, dx              ; 66 ED
        mov esi, eax            ; 66 89 C6
        mov al, 0x11            ; B0 11
        out dx, al              ; EE
        mov ax, 0x2233          ; B8 33 22
        out dx, ax              ; EF
        mov eax, 0x44556677     ; 66 B8 77 66 55 44
        out dx, eax             ; 66 EF
        cli                     ; FA
        hlt                     ; F4
""", "BA1005 EC 88C3 ED 89C1 66ED 6689C6 B011 EE B83322 EF 66B877665544 66EF FA F4")

BLOCK_GUEST = guest("block", """
        cpu 386
        org 0x7C00
        cld                     ; FC
        mov dx, 0x510           ; BA 10 05
        mov si, 0x8000          ; BE 00 80
        mov cx, 16              ; B9 10 00
        rep outsb               ; F3 6E
        mov di, 0x9000          ; BF 00 90
        mov cx, 8               ; B9 08 00
        rep insw                ; F3 6D
        cli                     ; FA
        hlt                     ; F4
""", "FC BA1005 BE0080 B91000 F36E BF0090 B90800 F36D FA F4")

BEHIND_GUEST = guest("behind", """
        cpu 386
        org 0x7C00
        mov al, 0x42            ; B0 42
        out 0x80, al            ; E6 80   in-kernel: the POST code
        in al, 0x80             ; E4 80   in-kernel: reads it back
        mov cl, al              ; 88 C1
        in ax, 0x80             ; E5 80   a 16-bit read: the POST port declines
        mov bx, ax              ; 89 C3
        cli                     ; FA
        hlt                     ; F4
""", "B042 E680 E480 88C1 E580 89C3 FA F4")

# Programs the PICs (vectors 08h/70h, only IRQ 5 unmasked), installs an
# IRQ 5 handler that counts, then: OUT 1 (the device pulses IRQ 5 at once),
# OUT 2 (the device arms a timer that pulses it later), HLT until two
# interrupts were counted, and exits through port 0xF4 with the count.
IRQ_GUEST = guest("irq", """
        cpu 386
        org 0x7C00
        cli                     ; FA
        xor ax, ax              ; 31 C0
        mov ds, ax              ; 8E D8
        mov ss, ax              ; 8E D0
        mov sp, 0x7C00          ; BC 00 7C
        mov al, 0x11            ; B0 11    ICW1
        out 0x20, al            ; E6 20
        out 0xA0, al            ; E6 A0
        mov al, 0x08            ; B0 08    ICW2
        out 0x21, al            ; E6 21
        mov al, 0x70            ; B0 70
        out 0xA1, al            ; E6 A1
        mov al, 0x04            ; B0 04    ICW3
        out 0x21, al            ; E6 21
        mov al, 0x02            ; B0 02
        out 0xA1, al            ; E6 A1
        mov al, 0x01            ; B0 01    ICW4
        out 0x21, al            ; E6 21
        out 0xA1, al            ; E6 A1
        mov al, 0xDF            ; B0 DF    OCW1: IRQ 5 only
        out 0x21, al            ; E6 21
        mov al, 0xFF            ; B0 FF
        out 0xA1, al            ; E6 A1
        mov word [0x0D*4], handler      ; C7 06 34 00 54 7C
        mov word [0x0D*4+2], 0          ; C7 06 36 00 00 00
        sti                     ; FB
        mov dx, 0x510           ; BA 10 05
        mov al, 1               ; B0 01
        out dx, al              ; EE       IRQ 5 now
        nop                     ; 90
        mov al, 2               ; B0 02
        out dx, al              ; EE       IRQ 5 after a timer
.wait:  hlt                     ; F4
        cmp byte [count], 2     ; 80 3E 5F 7C 02
        jb .wait                ; 72 F8
        mov al, [count]         ; A0 5F 7C
        out 0xF4, al            ; E6 F4
        cli                     ; FA
        hlt                     ; F4
handler:
        inc byte [count]        ; FE 06 5F 7C
        push ax                 ; 50
        mov al, 0x20            ; B0 20    EOI
        out 0x20, al            ; E6 20
        pop ax                  ; 58
        iret                    ; CF
count:  db 0                    ; 00
""", """FA 31C0 8ED8 8ED0 BC007C B011 E620 E6A0 B008 E621 B070 E6A1 B004 E621
        B002 E6A1 B001 E621 E6A1 B0DF E621 B0FF E6A1 C7063400547C C70636000000
        FB BA1005 B001 EE 90 B002 EE F4 803E5F7C02 72F8 A05F7C E6F4 FA F4
        FE065F7C 50 B020 E620 58 CF 00""")

SPIN_GUEST = guest("spin", """
        org 0x7C00
        jmp $                   ; EB FE
""", "EBFE")

DEBUG_GUEST = guest("debug", """
        org 0x7C00
        mov si, msg             ; BE 14 7C
next:   lodsb                   ; AC
        test al, al             ; 84 C0
        jz done                 ; 74 04
        out 0xE9, al            ; E6 E9
        jmp next                ; EB F7
done:   mov al, 0x2A            ; B0 2A
        out 0xF4, al            ; E6 F4
        cli                     ; FA
        hlt                     ; F4
        db 0, 0                 ; 00 00
msg:    db "hi", 0xFF, 10, 0    ; 68 69 FF 0A 00
""", "BE147C AC 84C0 7404 E6E9 EBF7 B02A E6F4 FA F4 0000 6869FF0A00")


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm not installed")
@pytest.mark.parametrize("name", sorted(GUESTS))
def test_guest_bytes_match_source(tmp_path, name):
    source, image = GUESTS[name]
    src = tmp_path / f"{name}.asm"
    src.write_text(source)
    subprocess.run(["nasm", "-f", "bin", "-o", str(tmp_path / "out.bin"), str(src)], check=True)
    assert (tmp_path / "out.bin").read_bytes() == image


# ---- devices used below ------------------------------------------------------


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


def machine_with(image, devices, **kw):
    kw.setdefault("debug_stream", io.BytesIO())
    m = Machine(cpu="386", memory_mb=1, devices=devices, **kw)
    m.cpu.invalid_opcode_exits = True
    m.load_image(image)
    return m


def python_row(stats, name, path="python"):
    rows = [r for r in stats["rows"] if r["device"] == name and r["path"] == path]
    assert len(rows) == 1, stats["rows"]
    return rows[0]


# ---- on the real core --------------------------------------------------------


@needs_core_bus
def test_in_out_reach_the_device_and_the_registers():
    dev = Recorder(reads=[0xAB, 0xBEEF, 0x12345678])
    m = machine_with(IO_GUEST, [dev])
    stop = m.run(1000)
    assert stop.reason == "hlt", stop
    cpu = m.cpu
    assert (cpu.bl, cpu.cx, cpu.esi) == (0xAB, 0xBEEF, 0x12345678)
    assert dev.log == [
        ("in", PORT, 1), ("in", PORT, 2), ("in", PORT, 4),
        ("out", PORT, 1, 0x11), ("out", PORT, 2, 0x2233), ("out", PORT, 4, 0x44556677),
    ]
    row = python_row(m.stats(), "recorder")
    assert (row["count"], row["reads"], row["writes"]) == (6, 3, 3)
    assert row["time_ns"] > 0
    assert m.stats()["exits"]["io"] == 6


@needs_core_bus
def test_read_values_are_truncated_to_the_access_size():
    dev = Recorder(reads=[0x1FF, 0x12345, -1])
    m = machine_with(IO_GUEST, [dev])
    assert m.run(1000).reason == "hlt"
    assert (m.cpu.bl, m.cpu.cx, m.cpu.esi) == (0xFF, 0x2345, 0xFFFFFFFF)


@needs_core_bus
def test_rep_ins_outs_block_is_one_exit():
    dev = BlockRecorder()
    m = machine_with(BLOCK_GUEST, [dev])
    m.cpu.memory[0x8000:0x8010] = bytes(range(0xA0, 0xB0))
    stop = m.run(1000)
    assert stop.reason == "hlt", stop
    assert dev.log == [
        ("outs", PORT, 1, bytes(range(0xA0, 0xB0))),
        ("ins", PORT, 2, 8),
    ]
    assert bytes(m.cpu.memory[0x9000:0x9010]) == bytes(range(1, 17))
    cpu = m.cpu
    assert (cpu.cx, cpu.si, cpu.di) == (0, 0x8010, 0x9010)
    st = m.stats()
    assert st["exits"]["io"] == 2
    row = python_row(st, "recorder")
    assert (row["count"], row["elements"]) == (2, 24)


@needs_core_bus
def test_rep_block_default_methods_call_per_element():
    dev = Recorder(reads=list(range(0x100, 0x108)))  # no block methods
    m = machine_with(BLOCK_GUEST, [dev])
    m.cpu.memory[0x8000:0x8010] = bytes(range(16))
    assert m.run(1000).reason == "hlt"
    assert dev.log[:16] == [("out", PORT, 1, i) for i in range(16)]
    assert dev.log[16:] == [("in", PORT, 2)] * 8
    words = bytes(m.cpu.memory[0x9000:0x9010])
    assert [int.from_bytes(words[i:i + 2], "little") for i in range(0, 16, 2)] == list(
        range(0x100, 0x108)
    )
    assert m.stats()["exits"]["io"] == 2  # still one exit per block


@needs_core_bus
def test_python_device_behind_an_in_kernel_device():
    # Port 0x80 belongs to the in-kernel POST-code device, which handles
    # byte accesses and declines a 16-bit read: only that reaches Python.
    dev = Recorder(ports=[0x80], reads=[0xBEEF])
    m = machine_with(BEHIND_GUEST, [dev])
    assert m.cpu.kernel_device_at(0x80) is not None
    stop = m.run(1000)
    assert stop.reason == "hlt", stop
    assert dev.log == [("in", 0x80, 2)]
    assert (m.cpu.cl, m.cpu.bx) == (0x42, 0xBEEF)
    assert m.cpu.post_code == 0x42
    st = m.stats()
    row = python_row(st, "recorder")
    assert row["count"] == 1 and row["behind"] == m.cpu.kernel_device_at(0x80)
    kernel = [r for r in st["rows"] if r["path"] == "in-kernel"
              and r["device"] == m.cpu.kernel_device_at(0x80)]
    assert kernel and kernel[0]["count"] == 2
    assert "behind" in m.format_stats()


@needs_core_bus
def test_unclaimed_port_is_an_empty_bus_without_python():
    # No device on 0x510: IN reads all ones, nothing exits to Python.
    m = machine_with(IO_GUEST, [])
    assert m.run(1000).reason == "hlt"
    assert (m.cpu.bl, m.cpu.cx, m.cpu.esi) == (0xFF, 0xFFFF, 0xFFFFFFFF)
    st = m.stats()
    assert "io" not in st["exits"]
    assert st["paths"]["unclaimed"]["count"] == 6
    assert st["paths"]["python"]["count"] == 0


def test_two_devices_on_one_port_is_an_error_naming_both():
    a = Recorder(ports=[(0x500, 0x51F)])
    a.name = "alpha"
    b = Recorder(ports=[0x518, 0x600])
    b.name = "beta"
    with pytest.raises(ConfigError) as info:
        Machine(cpu=FakeCpu(), devices=[a, b])
    msg = str(info.value)
    assert msg == "devices 'alpha' and 'beta' both claim port 0x0518"
    assert "\n" not in msg


@needs_core_bus
def test_port_conflict_on_the_real_core_leaves_no_claim():
    a, b = Recorder(), Recorder()
    m = Machine(cpu="386", memory_mb=1, devices=[a])
    with pytest.raises(ConfigError, match=r"'recorder' and 'recorder#2' both claim port 0x0510"):
        m.add_device(b)
    assert m.devices == [a]


@needs_core_bus
def test_irq_line_delivery_and_timer_wakes_hlt():
    dev = IrqDevice(delay_ns=50_000)
    m = machine_with(IRQ_GUEST, [dev])
    stop = m.run(100_000)
    assert stop.reason == "debug_exit", stop
    assert stop.value == 2 and stop.status == 5
    # The timer fired at (not before) its virtual deadline.
    assert len(dev.fired_at) == 1
    st = m.stats()
    assert st["exits"]["timer"] >= 1
    timer_row = python_row(st, "irqdev", "timer")
    assert timer_row["count"] == 1
    assert python_row(st, "irqdev")["irq_edges"] == 2


@needs_core_bus
def test_timer_fires_at_its_virtual_time():
    fired = []

    class Ticker(PortDevice):
        name = "ticker"

        def attach(self, machine):
            super().attach(machine)
            self.call_at(1_000_000, self.tick)          # 1 ms
            self.t2 = self.call_at(2_000_000, self.tick)
            self.call_at(3_000_000, self.tick)

        def tick(self):
            cpu = self.machine.cpu
            fired.append((cpu.time_ns, cpu.instructions))
            if len(fired) == 1:
                self.t2.cancel()

    m = machine_with(SPIN_GUEST, [Ticker()])
    ns_per_insn = 1e9 / m.cpu.ips
    stop = m.run(max_instructions=int(4_000_000 / ns_per_insn))
    assert stop.reason == "limit"
    assert [t for t, _ in fired] and len(fired) == 2
    for (t, _), want in zip(fired, (1_000_000, 3_000_000)):
        assert want <= t < want + 2 * ns_per_insn
    assert m.cpu.python_deadline == NO_DEADLINE


@needs_core_bus
def test_debug_console_and_debug_exit():
    out = io.BytesIO()
    m = machine_with(DEBUG_GUEST, [], debug_stream=out)
    stop = m.run(1000)
    assert stop.reason == "debug_exit"
    assert stop.value == 0x2A and stop.status == (0x2A << 1 | 1) & 0xFF
    assert out.getvalue() == b"hi\xff\n"


@needs_core_bus
def test_debug_console_to_a_text_stream():
    out = io.StringIO()
    m = machine_with(DEBUG_GUEST, [], debug_stream=out)
    m.run(1000)
    assert out.getvalue() == "hi\xff\n"


@needs_core_bus
def test_device_exception_stops_the_run_with_one_line():
    class Broken(PortDevice):
        name = "broken"
        ports = [PORT]

        def io_read(self, port, size):
            raise ValueError("register not\nimplemented")

    m = machine_with(IO_GUEST, [Broken()])
    with pytest.raises(DeviceError) as info:
        m.run(1000)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("device 'broken' failed on IN port 0x0510 (size 1): ValueError: register not implemented")
    assert isinstance(info.value.__cause__, ValueError)


@needs_core_bus
def test_format_stats_table():
    dev = Recorder(reads=[1, 2, 3])
    m = machine_with(IO_GUEST, [dev])
    m.run(1000)
    text = m.format_stats()
    first, *rest = text.splitlines()
    assert "instructions retired" in first and "MIPS" in first and "last POST code" in first
    header = rest[0].split()
    assert header[:4] == ["device", "path", "ports", "count"]
    assert any(line.split()[:4] == ["recorder", "python", "0x510", "6"] for line in rest)


# ---- the Python side on a fake CPU ---------------------------------------------


def test_normalize_ports():
    assert normalize_ports([0x511, (0x510, 0x510), range(0x60, 0x62)]) == [(0x60, 0x61), (0x510, 0x511)]
    assert normalize_ports([(1, 5), (3, 9), 10]) == [(1, 10)]
    assert normalize_ports([]) == []
    for bad in ([0x10000], [(5, 4)], [(-1, 2)], ["0x60"], [(1, 2, 3)], 0x60, (0x60, 0x61), [True]):
        with pytest.raises(ConfigError):
            normalize_ports(bad)


def test_bad_ports_name_the_device():
    dev = Recorder(ports=[(0x20, 0x10)])
    with pytest.raises(ConfigError, match=r"^device 'recorder': bad port range"):
        Machine(cpu=FakeCpu(), devices=[dev])


def test_claims_ports_and_notes_kernel_device_in_front():
    cpu = FakeCpu(kernel_ports={0x80: "post"})
    dev = Recorder(ports=[0x80, (0x510, 0x511)])
    m = Machine(cpu=cpu, devices=[dev])
    assert cpu.claimed == [(0x80, 0x80), (0x510, 0x511)]
    row = python_row(m.stats(), "recorder")
    assert row["behind"] == "post" and row["ports"] == "0x80,0x510-0x511"


def test_not_a_device():
    with pytest.raises(ConfigError, match="is not a device"):
        Machine(cpu=FakeCpu(), devices=[object()])


def test_reserved_irq_is_refused():
    class Greedy(PortDevice):
        name = "greedy"

        def attach(self, machine):
            super().attach(machine)
            self.irq = self.irq_line(4)

    with pytest.raises(ConfigError, match=r"^device 'greedy': IRQ 4 is taken by the in-kernel COM1 UART$"):
        Machine(cpu=FakeCpu(), devices=[Greedy()])


def test_irq_lines_are_wired_or():
    cpu = FakeCpu()
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


def test_irq_line_standalone():
    cpu = FakeCpu()
    line = IrqLine(cpu, 7)
    line.pulse()
    line.pulse()
    assert cpu.calls == [("set_irq", 7, 1), ("set_irq", 7, 0)] * 2


def test_virtual_clock_queue_and_deadline():
    cpu = FakeCpu()
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


def test_virtual_clock_periodic_and_cancel_inside_callback():
    cpu = FakeCpu()
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


def test_periodic_timer_coalesces_missed_periods():
    cpu = FakeCpu()
    clock = VirtualClock(cpu)
    n = []
    timer = clock.call_every(10, lambda: n.append(cpu.time_ns))
    cpu.time_ns = 55
    clock.fire_due()
    assert n == [55] and timer.overruns == 4 and timer.when == 60


def test_many_cancelled_timers_are_compacted():
    cpu = FakeCpu()
    clock = VirtualClock(cpu)
    keep = clock.call_at(10_000, lambda: None)
    for i in range(1000):
        clock.call_at(20_000 + i, lambda: None).cancel()
    assert len(clock._heap) < 200
    assert cpu.python_deadline == keep.when


def test_machine_dispatches_exits_on_a_fake_cpu():
    dev = BlockRecorder(reads=[0x1234])
    cpu = FakeCpu([
        FakeExit("io", port=PORT, direction="in", size=2),
        FakeExit("io", port=PORT, direction="out", size=1, value=7),
        FakeExit("io", port=PORT, direction="in", size=4, count=3),
        FakeExit("io", port=PORT, direction="out", size=2, count=2, data=b"\x01\x02\x03\x04"),
        FakeExit("budget", instructions=100),
        FakeExit("debug_exit", value=0x80),
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


def test_block_read_of_the_wrong_length_is_a_device_error():
    class Short(PortDevice):
        name = "short"
        ports = [PORT]

        def io_read_block(self, port, size, count):
            return b"\x00"

    cpu = FakeCpu([FakeExit("io", port=PORT, direction="in", size=2, count=4)])
    m = Machine(cpu=cpu, devices=[Short()])
    with pytest.raises(DeviceError, match=r"returned 1 bytes, expected 8"):
        m.run()


def test_read_must_return_an_int():
    class Wrong(PortDevice):
        name = "wrong"
        ports = [PORT]

        def io_read(self, port, size):
            return "0x10"

    cpu = FakeCpu([FakeExit("io", port=PORT, direction="in")])
    with pytest.raises(DeviceError, match=r"^device 'wrong' failed on IN port 0x0510.*not an int"):
        Machine(cpu=cpu, devices=[Wrong()]).run()


def test_timer_exit_fires_device_timers_with_stats():
    class T(PortDevice):
        name = "t"

        def attach(self, machine):
            super().attach(machine)
            self.hits = []
            self.call_after(500, self.hit)

        def hit(self):
            self.hits.append(self.now_ns)

    cpu = FakeCpu([FakeExit("timer", instructions=60), FakeExit("hlt")])
    dev = T()
    m = Machine(cpu=cpu, devices=[dev])
    assert cpu.python_deadline == 500
    stop = m.run()
    assert stop.reason == "hlt" and dev.hits == [600]
    assert python_row(m.stats(), "t", "timer")["count"] == 1
    assert cpu.python_deadline == NO_DEADLINE


def test_timer_exception_names_the_device():
    class T(PortDevice):
        name = "t"

        def attach(self, machine):
            super().attach(machine)
            self.call_after(1, self.boom)

        def boom(self):
            raise RuntimeError("oops")

    cpu = FakeCpu([FakeExit("timer")])
    with pytest.raises(DeviceError, match=r"^device 't' failed in timer T.boom: RuntimeError: oops"):
        Machine(cpu=cpu, devices=[T()]).run()


def test_hlt_with_if_set_skips_to_a_python_timer():
    # A core that does not count python_deadline as a wake-up source stops
    # with 'hlt': Machine skips virtual time to the timer, fires it, and
    # resumes when that left an interrupt pending.
    dev = IrqDevice(delay_ns=1000)
    cpu = FakeCpu([FakeExit("hlt"), FakeExit("debug_exit", value=1)])
    cpu.eflags = 0x202
    m = Machine(cpu=cpu, devices=[dev])
    dev.io_write(PORT, 1, 2)  # arm the timer at t=1000
    stop = m.run()
    assert stop.reason == "debug_exit"
    assert ("advance_time", 900) in cpu.calls  # 10 instructions at 100 MIPS: t=100
    assert dev.fired_at == [1000]
    assert cpu.halted is False


def test_hlt_with_if_clear_stops():
    cpu = FakeCpu([FakeExit("hlt")])
    m = Machine(cpu=cpu, devices=[IrqDevice()])
    m.devices[0].io_write(PORT, 1, 2)
    assert m.run().reason == "hlt"


def test_limit_error_and_interrupt_stops():
    cpu = FakeCpu([FakeExit("budget", instructions=1000)] * 5)
    stop = Machine(cpu=cpu).run(max_instructions=2500)
    assert (stop.reason, stop.status, stop.instructions) == ("limit", 3, 2500)

    cpu = FakeCpu([FakeExit("invalid_opcode", linear=0x7C00)])
    cpu.memory[0x7C00:0x7C02] = b"\x0f\x0b"
    stop = Machine(cpu=cpu).run()
    assert stop.status == 1 and stop.error.startswith("invalid opcode at 0000:7C00 (linear 0x7C00): 0F 0B")

    def interrupt(cpu):
        raise KeyboardInterrupt

    stop = Machine(cpu=FakeCpu([interrupt])).run()
    assert (stop.reason, stop.status) == ("interrupted", 130)


def test_mmio_device_at_the_python_level():
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
        mmio_base = 0xFEB00800
        mmio_size = 0x1000

    cpu = FakeCpu()
    with pytest.warns(RuntimeWarning, match="does not route memory-mapped I/O"):
        m = Machine(cpu=cpu, devices=[Regs()])
    m.mmio_write(0xFEB00010, 4, 0x1_2345_6789)
    assert m.mmio_read(0xFEB00010, 2) == 0x6789
    assert m.mmio_read(0xFEB00010, 4) == 0x23456789
    assert m.mmio_read(0xFEC00000, 4) == 0xFFFFFFFF  # nobody there
    assert python_row(m.stats(), "regs")["count"] == 3
    with pytest.raises(ConfigError, match=r"^devices 'regs' and 'other' both claim memory at 0xFEB00800$"):
        m.add_device(Other())


def test_duplicate_names_get_a_suffix_and_lookup():
    a, b = Recorder(ports=[1]), Recorder(ports=[2])
    m = Machine(cpu=FakeCpu(), devices=[a, b])
    assert (a.name, b.name) == ("recorder", "recorder#2")
    assert m.device("recorder#2") is b
    with pytest.raises(ConfigError, match="added twice"):
        m.add_device(a)


def test_ips_only_when_the_machine_makes_the_cpu():
    with pytest.raises(ConfigError):
        Machine(cpu=FakeCpu(ips=1000), ips=5000)
    with pytest.raises(ConfigError):
        Machine(cpu=FakeCpu(), ips=0)


@needs_core_bus
def test_ips_sets_the_virtual_clock():
    m = Machine(cpu="386", memory_mb=1, ips=1_000_000)
    assert m.cpu.ips == 1_000_000


def test_attach_failure_is_a_config_error():
    class Fussy(PortDevice):
        name = "fussy"

        def attach(self, machine):
            super().attach(machine)
            raise RuntimeError("no\nway")

    with pytest.raises(ConfigError, match=r"^device 'fussy': attach failed: RuntimeError: no way \(test_python_devices.py:\d+ in attach\)$"):
        Machine(cpu=FakeCpu(), devices=[Fussy()])


def test_mmio_device_through_the_core():
    """Guest loads and stores to a Python MMIO device's page reach it whole."""
    from hvmm._core import Cpu

    class Regs(MmioDevice):
        name = "regs"
        mmio_base = 0xD0000
        mmio_size = 0x1000

        def __init__(self):
            super().__init__()
            self.log = []

        def mmio_read(self, offset, size):
            self.log.append(("r", offset, size))
            return 0xA55A

        def mmio_write(self, offset, size, value):
            self.log.append(("w", offset, size, value))

    guest = bytes.fromhex(
        "B800D0"        # mov ax, 0xD000
        "8ED8"          # mov ds, ax
        "C70610003412"  # mov word [0x10], 0x1234
        "A11000"        # mov ax, [0x10]
        "8A1E1100"      # mov bl, [0x11]
        "FAF4"          # cli; hlt
    )
    dev = Regs()
    m = Machine(cpu=Cpu(), devices=[dev])
    m.load_image(guest)
    assert m.run(100).reason == "hlt"
    assert dev.log == [("w", 0x10, 2, 0x1234), ("r", 0x10, 2), ("r", 0x11, 1)]
    assert (m.cpu.ax, m.cpu.bl) == (0xA55A, 0x5A)
    assert python_row(m.stats(), "regs")["count"] == 3


def test_realtime_mode_keeps_virtual_time_with_the_host_clock():
    """A guest spinning for 0.3 s of host time sees about 0.3 s of virtual
    time in realtime mode, whatever its instruction rate."""
    import time

    from hvmm.machine import Machine

    m = Machine(cpu="386", realtime=True, ips=1_000_000_000)
    m.load_image(bytes.fromhex("EBFE"))           # jmp $
    t = time.perf_counter()
    while time.perf_counter() - t < 0.3:
        m.run(200_000)
    host = time.perf_counter() - t
    virtual = m.cpu.time_ns / 1e9
    assert abs(virtual - host) < 0.05, (virtual, host)
    # the RTC starts at the host's time of day (UTC) in realtime mode
    bcd = lambda b: (b >> 4) * 10 + (b & 15)
    hh, mm = bcd(m.cpu.cmos_read(4)), bcd(m.cpu.cmos_read(2))
    now = time.gmtime()
    assert (hh * 60 + mm - (now.tm_hour * 60 + now.tm_min)) % 1440 in (0, 1, 1439)
