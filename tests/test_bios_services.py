"""BIOS services beyond the first increment (guests/bios/*.asm): INT 15h
(88h, E801h, E820h, C0h, 86h, 24h, 41h/4Fh), INT 14h through the in-kernel
16550A, INT 17h, INT 70h (RTC alarm -> INT 4Ah), the tick count set from
the RTC at POST, INT 1Ah 03h/05h. Each service is called by a small
hand-assembled boot sector (the nasm source is in the comments) run through
hvmm.pc.PC; the memory size reaches the BIOS through the CMOS (pc.py)."""
import pytest

from hvmm.disks import FloppyImage
from hvmm.pc import PC

SMAP = 0x534D4150


def boot(code_hex, cpu="386", **kw):
    """A PC booting ``code_hex``. The snippets end in CLI; HLT: a JMP back
    to the HLT is appended so that nothing else runs should the machine step
    past the HLT (it can execute the next instruction before it stops)."""
    code = bytes.fromhex(code_hex) + bytes.fromhex("ebfd")
    sector = code.ljust(510, b"\0") + b"\x55\xaa"
    return PC(floppy=FloppyImage.from_bytes(sector.ljust(1_474_560, b"\0")), cpu=cpu,
              debug_stream=None, **kw)


def run(code_hex, cpu="386", max_instructions=5_000_000, **kw):
    """Boot the code and run it to its CLI; HLT."""
    pc = boot(code_hex, cpu, **kw)
    stop = pc.run(max_instructions)
    assert stop.reason == "hlt", (stop.reason, stop.error, pc.screen_text())
    return pc


def cf(pc):
    return pc.cpu.flags & 1


# ---- memory size ------------------------------------------------------------------

AH88 = "b488cd15faf4"          # mov ah, 88h; int 15h; cli; hlt
E801 = "b801e8cd15faf4"        # mov ax, 0E801h; int 15h; cli; hlt


@pytest.mark.parametrize("cpu, memory_mb, kib", [
    ("386", 16, 15360), ("386", 2, 1024), ("386", 64, 64512), ("386", 128, 0xFFFF),
    ("8086", 1, 0),
])
def test_int15_88_extended_memory(cpu, memory_mb, kib):
    pc = run(AH88, cpu, memory_mb=memory_mb)
    assert pc.cpu.ax == kib and not cf(pc)
    assert pc.cpu.cmos_read(0x17) | pc.cpu.cmos_read(0x18) << 8 == kib
    assert pc.cpu.cmos_read(0x15) | pc.cpu.cmos_read(0x16) << 8 == 640


@pytest.mark.parametrize("memory_mb, below16, blocks", [(16, 0x3C00, 0), (8, 7168, 0), (64, 0x3C00, 768)])
def test_int15_e801(memory_mb, below16, blocks):
    pc = run(E801, memory_mb=memory_mb)
    assert not cf(pc)
    assert pc.cpu.ax == pc.cpu.cx == below16
    assert pc.cpu.bx == pc.cpu.dx == blocks


# xor ax, ax; mov ds, ax; mov es, ax; xor ebx, ebx; mov di, 600h
# next: mov eax, 0E820h; mov edx, 'SMAP'; mov ecx, 24; int 15h; jc done
#       add di, 20; test ebx, ebx; jnz next
# done: cli; hlt
E820 = ("31c08ed88ec06631dbbf000666b820e8000066ba50414d5366b918000000cd15720883c714"
        "6685db75e2faf4")


def e820_entries(pc):
    entries = []
    for a in range(0x600, pc.cpu.di, 20):
        raw = bytes(pc.cpu.memory[a:a + 20])
        entries.append((int.from_bytes(raw[0:8], "little"), int.from_bytes(raw[8:16], "little"),
                        int.from_bytes(raw[16:20], "little")))
    return entries


@pytest.mark.parametrize("memory_mb", [16, 64, 1])
def test_int15_e820_map(memory_mb):
    pc = run(E820, memory_mb=memory_mb)
    expected = [(0, 0xA0000, 1), (0xF0000, 0x10000, 2)]
    if memory_mb > 1:
        expected.append((0x100000, (memory_mb - 1) << 20, 1))
    assert e820_entries(pc) == expected
    # the last call: EBX = 0 (no more), EAX = 'SMAP', ECX = 20, CF = 0
    assert pc.cpu.ebx == 0 and pc.cpu.eax == SMAP and pc.cpu.ecx == 20 and not cf(pc)


def test_int15_e820_not_on_the_8086():
    # mov ax, 0E820h; int 15h; cli; hlt: no 32-bit registers, no map
    pc = run("b820e8cd15faf4", "8086")
    assert cf(pc) and pc.cpu.ah == 0x86


def test_int15_c0_configuration_table():
    pc = run("b4c0cd15faf4")               # mov ah, 0C0h; int 15h; cli; hlt
    assert not cf(pc) and pc.cpu.ah == 0
    table = (pc.cpu.es << 4) + pc.cpu.bx
    assert table >= 0xF0000                                          # in the ROM
    mem = pc.cpu.memory
    assert int.from_bytes(mem[table:table + 2], "little") >= 8       # length
    assert mem[table + 2] == 0xFC                                    # model: AT
    assert mem[table + 5] & 0x60 == 0x60                             # 2nd PIC, RTC


# ---- INT 15h AH=86h: wait on the RTC periodic interrupt --------------------------

@pytest.mark.parametrize("cpu", ["386", "8086"])
def test_int15_86_waits_in_virtual_time(cpu):
    # mov ah, 86h; mov cx, 7; mov dx, 0A120h (500000 us); int 15h; cli; hlt
    waited = run("b486b90700ba20a1cd15faf4", cpu)
    # the same with CX:DX = 0 (one RTC period at most)
    short = run("b48631c931d2cd15faf4", cpu)
    assert not cf(waited) and waited.cpu.ah == 0
    delta_ms = (waited.cpu.time_ns - short.cpu.time_ns) / 1e6
    assert abs(delta_ms - 500) < 3, delta_ms
    assert short.cpu.time_ns < 2_000_000_000
    assert waited.cpu.memory[0x4A0] == 0                     # the wait flag is free again
    assert not waited.cpu.cmos_read(0x0B) & 0x40             # periodic interrupt off


# ---- INT 15h AH=24h (A20), 41h, 4Fh, unknown --------------------------------------

def test_int15_24_a20_gate():
    # ax=2400h int 15h; ax=2402h int 15h; mov bl, al; ax=2401h int 15h;
    # ax=2402h int 15h; mov bh, al; cli; hlt
    pc = run("b80024cd15b80224cd1588c3b80124cd15b80224cd1588c7faf4")
    assert pc.cpu.bx == 0x0100 and not cf(pc) and pc.cpu.ah == 0
    assert pc.cpu.a20


def test_int15_24_not_on_the_8086():
    pc = run("b80224cd15faf4", "8086")     # mov ax, 2402h; int 15h; cli; hlt
    assert cf(pc) and pc.cpu.ah == 0x86


def test_int15_4f_41_and_unknown():
    # mov ax, 4F1Eh; clc; int 15h; pushf; mov si, ax
    # mov ah, 41h; int 15h; pushf; mov di, ax
    # mov ah, 99h; int 15h; pushf; pop bx; pop cx; pop dx; cli; hlt
    pc = run("b81e4ff8cd159c89c6b441cd159c89c7b499cd159c5b595afaf4")
    assert pc.cpu.si == 0x4F1E and pc.cpu.dx & 1          # 4Fh: key passed on, CF = 1
    assert pc.cpu.di >> 8 == 0x86 and pc.cpu.cx & 1       # 41h: not supported
    assert pc.cpu.ah == 0x86 and pc.cpu.bx & 1            # unknown


# ---- INT 14h, INT 17h --------------------------------------------------------------

@pytest.mark.parametrize("cpu", ["386", "8086"])
def test_int14_send(cpu):
    # mov ax, 00E3h (9600 8N1); xor dx, dx; int 14h; mov ax, 0141h; int 14h
    # mov si, ax; mov ah, 3; int 14h; cli; hlt
    pc = run("b8e30031d2cd14b84101cd1489c6b403cd14faf4", cpu)
    assert pc.cpu.serial_drain() == b"A"
    assert not pc.cpu.si & 0x8000                 # AH bit 7: no time-out
    assert pc.cpu.ah & 0x20                       # status: transmitter ready
    # the divisor latch holds 12 (9600 baud), LCR = 03h (8N1)
    pc.cpu.io_write(0x3FB, 1, 0x83)
    assert pc.cpu.io_read(0x3F8, 1) == 12 and pc.cpu.io_read(0x3F9, 1) == 0
    pc.cpu.io_write(0x3FB, 1, 0x03)


@pytest.mark.parametrize("cpu", ["386", "8086"])
def test_int14_receive(cpu):
    # mov ax, 00E3h; xor dx, dx; int 14h; mov ah, 2; int 14h; cli; hlt
    code = "b8e30031d2cd14b402cd14faf4"
    pc = boot(code, cpu)
    assert pc.cpu.serial_feed(b"Z") == 1
    assert pc.run(5_000_000).reason == "hlt"
    assert pc.cpu.al == ord("Z") and not pc.cpu.ah & 0x80


def test_int14_receive_times_out():
    pc = run("b8e30031d2cd14b402cd14faf4", max_instructions=20_000_000)
    assert pc.cpu.ah & 0x80


def test_int14_no_such_port():
    pc = run("b40331d242cd14faf4")         # mov ah, 3; xor dx, dx; inc dx; int 14h; cli; hlt
    assert pc.cpu.ah == 0x80


def test_int17_no_printer():
    pc = run("b40131d2cd17faf4")           # mov ah, 1; xor dx, dx; int 17h; cli; hlt
    assert pc.cpu.ah == 0x01                # time-out


# ---- RTC: ticks at POST, INT 1Ah 03h/05h, INT 70h alarm ----------------------------

def set_rtc(pc, hours, minutes, seconds):
    for reg, value in ((0x04, hours), (0x02, minutes), (0x00, seconds)):
        pc.cpu.cmos_write(reg, int(str(value), 16))    # BCD


@pytest.mark.parametrize("hms", [(13, 37, 42), (0, 0, 5), (23, 59, 30)])
def test_ticks_at_boot_follow_the_rtc(hms):
    pc = boot("30e4cd1afaf4")              # xor ah, ah; int 1Ah; cli; hlt
    set_rtc(pc, *hms)
    assert pc.run(2_000_000).reason == "hlt"
    seconds = hms[0] * 3600 + hms[1] * 60 + hms[2]
    expected = seconds * 0x1800B0 // 86400
    ticks = pc.cpu.cx << 16 | pc.cpu.dx
    assert expected <= ticks <= expected + 20, (ticks, expected)   # boot is well under 1 s


def test_int1a_set_time_and_date():
    # mov cx, 2359h; mov dx, 5801h; mov ah, 3; int 1Ah   (23:59:58, DST)
    # mov cx, 2099h; mov dx, 1231h; mov ah, 5; int 1Ah   (2099-12-31)
    # mov ah, 2; int 1Ah; mov si, cx; mov di, dx; mov ah, 4; int 1Ah; cli; hlt
    pc = run("b95923ba0158b403cd1ab99920ba3112b405cd1ab402cd1a89ce89d7b404cd1afaf4")
    assert pc.cpu.si == 0x2359
    assert pc.cpu.di in (0x5801, 0x5901)          # seconds, DST flag
    assert pc.cpu.cx == 0x2099 and pc.cpu.dx == 0x1231
    assert not cf(pc)
    reg_b = pc.cpu.cmos_read(0x0B)
    assert reg_b & 0x87 == 0x03                    # SET off, BCD, 24-hour, DST


def test_int70_alarm_calls_int4a():
    # Alarm registers 1, 3, 5 = C0h (every second), AIE on, INT 4Ah counts at
    # 0000:05F0; wait in STI; HLT until it has been called twice.
    # xor ax, ax; mov ds, ax; mov word [4Ah*4], handler; mov [4Ah*4+2], ax
    # mov byte [5F0h], 0; cli; (register 1, 3, 5 <- C0h; register B |= 20h)
    # again: cli; cmp byte [5F0h], 2; jae done; sti; hlt; jmp again
    # done: hlt; jmp done
    # handler: inc byte [cs:5F0h]; iret
    code = ("31c08ed8c70628014c7ca32a01c606f00500fab001e670b0c0e671b003e670b0c0e671b005e670"
            "b0c0e671b00be670e4710c2088c4b00be67088e0e671fa803ef005027304fbf4ebf4f4ebfd"
            "2efe06f005cf")
    pc = boot(code)
    assert pc.run(50_000_000).reason == "hlt"
    assert pc.cpu.memory[0x5F0] == 2
    assert 1.0 <= pc.cpu.time_ns / 1e9 <= 2.5
