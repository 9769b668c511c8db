"""Python devices on the real core (hvmm._core.Cpu), through Machine: port
I/O exits, REP INS/OUTS blocks, a Python device behind an in-kernel one,
port conflicts, IRQ lines, timers on the virtual clock, the debug ports,
MMIO and the statistics, with tiny guests.  (The Python side alone, on a
scripted fake CPU: test_machine_python_side.py.)

The guests are hand-assembled bytes; their NASM source is beside them and
test_guest_bytes_match_source reassembles them when nasm is installed.
"""

import io
import shutil
import subprocess

import pytest

from hvmm import Cpu
from hvmm.devices import NO_DEADLINE, MmioDevice, PortDevice
from hvmm.errors import ConfigError, DeviceError
from hvmm.machine import Machine

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


def machine_with(image, devices, **kw):
    kw.setdefault("debug_stream", io.BytesIO())
    m = Machine(cpu="386", memory_mb=1, devices=devices, **kw)
    m.cpu.invalid_opcode_exits = True
    m.load_image(image)
    return m


# ---- on the real core --------------------------------------------------------


def test_in_out_reach_the_device_and_the_registers(fake):
    dev = fake.Recorder(reads=[0xAB, 0xBEEF, 0x12345678])
    m = machine_with(IO_GUEST, [dev])
    stop = m.run(1000)
    assert stop.reason == "hlt", stop
    cpu = m.cpu
    assert (cpu.bl, cpu.cx, cpu.esi) == (0xAB, 0xBEEF, 0x12345678)
    assert dev.log == [
        ("in", PORT, 1), ("in", PORT, 2), ("in", PORT, 4),
        ("out", PORT, 1, 0x11), ("out", PORT, 2, 0x2233), ("out", PORT, 4, 0x44556677),
    ]
    row = fake.python_row(m.stats(), "recorder")
    assert (row["count"], row["reads"], row["writes"]) == (6, 3, 3)
    assert row["time_ns"] > 0
    assert m.stats()["exits"]["io"] == 6


def test_read_values_are_truncated_to_the_access_size(fake):
    dev = fake.Recorder(reads=[0x1FF, 0x12345, -1])
    m = machine_with(IO_GUEST, [dev])
    assert m.run(1000).reason == "hlt"
    assert (m.cpu.bl, m.cpu.cx, m.cpu.esi) == (0xFF, 0x2345, 0xFFFFFFFF)


def test_rep_ins_outs_block_is_one_exit(fake):
    dev = fake.BlockRecorder()
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
    row = fake.python_row(st, "recorder")
    assert (row["count"], row["elements"]) == (2, 24)


def test_rep_block_default_methods_call_per_element(fake):
    dev = fake.Recorder(reads=list(range(0x100, 0x108)))  # no block methods
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


def test_python_device_behind_an_in_kernel_device(fake):
    # Port 0x80 belongs to the in-kernel POST-code device, which handles
    # byte accesses and declines a 16-bit read: only that reaches Python.
    dev = fake.Recorder(ports=[0x80], reads=[0xBEEF])
    m = machine_with(BEHIND_GUEST, [dev])
    assert m.cpu.kernel_device_at(0x80) is not None
    stop = m.run(1000)
    assert stop.reason == "hlt", stop
    assert dev.log == [("in", 0x80, 2)]
    assert (m.cpu.cl, m.cpu.bx) == (0x42, 0xBEEF)
    assert m.cpu.post_code == 0x42
    st = m.stats()
    row = fake.python_row(st, "recorder")
    assert row["count"] == 1 and row["behind"] == m.cpu.kernel_device_at(0x80)
    kernel = [r for r in st["rows"] if r["path"] == "in-kernel"
              and r["device"] == m.cpu.kernel_device_at(0x80)]
    assert kernel and kernel[0]["count"] == 2
    assert "behind" in m.format_stats()


def test_unclaimed_port_is_an_empty_bus_without_python():
    # No device on 0x510: IN reads all ones, nothing exits to Python.
    m = machine_with(IO_GUEST, [])
    assert m.run(1000).reason == "hlt"
    assert (m.cpu.bl, m.cpu.cx, m.cpu.esi) == (0xFF, 0xFFFF, 0xFFFFFFFF)
    st = m.stats()
    assert "io" not in st["exits"]
    assert st["paths"]["unclaimed"]["count"] == 6
    assert st["paths"]["python"]["count"] == 0


def test_two_devices_on_one_port_is_an_error_naming_both(fake):
    a = fake.Recorder(ports=[(0x500, 0x51F)])
    a.name = "alpha"
    b = fake.Recorder(ports=[0x518, 0x600])
    b.name = "beta"
    with pytest.raises(ConfigError) as info:
        Machine(cpu=fake.Cpu(), devices=[a, b])
    msg = str(info.value)
    assert msg == "devices 'alpha' and 'beta' both claim port 0x0518"
    assert "\n" not in msg


def test_port_conflict_on_the_real_core_leaves_no_claim(fake):
    a, b = fake.Recorder(), fake.Recorder()
    m = Machine(cpu="386", memory_mb=1, devices=[a])
    with pytest.raises(ConfigError, match=r"'recorder' and 'recorder#2' both claim port 0x0510"):
        m.add_device(b)
    assert m.devices == [a]


def test_irq_line_delivery_and_timer_wakes_hlt(fake):
    dev = fake.IrqDevice(delay_ns=50_000)
    m = machine_with(IRQ_GUEST, [dev])
    stop = m.run(100_000)
    assert stop.reason == "debug_exit", stop
    assert stop.value == 2 and stop.status == 5
    # The timer fired at (not before) its virtual deadline.
    assert len(dev.fired_at) == 1
    st = m.stats()
    assert st["exits"]["timer"] >= 1
    timer_row = fake.python_row(st, "irqdev", "timer")
    assert timer_row["count"] == 1
    assert fake.python_row(st, "irqdev")["irq_edges"] == 2


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


def test_debug_console_and_debug_exit():
    out = io.BytesIO()
    m = machine_with(DEBUG_GUEST, [], debug_stream=out)
    stop = m.run(1000)
    assert stop.reason == "debug_exit"
    assert stop.value == 0x2A and stop.status == (0x2A << 1 | 1) & 0xFF
    assert out.getvalue() == b"hi\xff\n"


def test_debug_console_to_a_text_stream():
    out = io.StringIO()
    m = machine_with(DEBUG_GUEST, [], debug_stream=out)
    m.run(1000)
    assert out.getvalue() == "hi\xff\n"


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


def test_format_stats_table(fake):
    dev = fake.Recorder(reads=[1, 2, 3])
    m = machine_with(IO_GUEST, [dev])
    m.run(1000)
    text = m.format_stats()
    first, *rest = text.splitlines()
    assert "instructions retired" in first and "MIPS" in first and "last POST code" in first
    header = rest[0].split()
    assert header[:4] == ["device", "path", "ports", "count"]
    assert any(line.split()[:4] == ["recorder", "python", "0x510", "6"] for line in rest)


def test_ips_sets_the_virtual_clock():
    m = Machine(cpu="386", memory_mb=1, ips=1_000_000)
    assert m.cpu.ips == 1_000_000


def test_mmio_device_through_the_core(fake):
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
    assert fake.python_row(m.stats(), "regs")["count"] == 3


def test_realtime_mode_keeps_virtual_time_with_the_host_clock():
    """A guest spinning for 0.3 s of host time sees about 0.3 s of virtual
    time in realtime mode, whatever its instruction rate."""
    import time

    from hvmm.machine import Machine

    m = Machine(cpu="386", realtime=True, ips=1_000_000_000)
    m.load_image(bytes.fromhex("EBFE"))           # jmp $
    t = time.perf_counter()
    while True:
        start = time.perf_counter()
        m.run(200_000)
        end = time.perf_counter()
        if end - t >= 0.3:
            break
    virtual = m.cpu.time_ns / 1e9
    # Virtual time ends where the host clock stood during the last run:
    # bounds read around that run, so a loaded host cannot fail this (10 ms
    # for the machine's start before t).
    assert start - t - 0.01 <= virtual <= end - t + 0.01, (virtual, start - t, end - t)
    # the RTC starts at the host's time of day (UTC) in realtime mode
    bcd = lambda b: (b >> 4) * 10 + (b & 15)
    hh, mm = bcd(m.cpu.cmos_read(4)), bcd(m.cpu.cmos_read(2))
    now = time.gmtime()
    assert (hh * 60 + mm - (now.tm_hour * 60 + now.tm_min)) % 1440 in (0, 1, 1439)
