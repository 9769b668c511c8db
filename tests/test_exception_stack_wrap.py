"""An exception frame pushed with ESP near 0 (the 32-bit differential
suite's DIV/IDIV #DE cases): the pushes wrap the stack pointer through 0
as the SDM's PUSH does (SS.B chooses ESP or SP), inside an expand-up
segment whose limit covers the new offset, so the handler runs with the
frame at the wrapped address; nothing triple-faults.

The machine: a 32-bit code segment at 0 (GDT entry 1), an IDT whose vector 0 is a
32-bit interrupt gate to a HLT, and the stack segment of each case.
"""
import struct

import pytest

from hvmm import Cpu

CODE_SEL, GDT, IDT, HANDLER, CODE = 0x08, 0x2000, 0x1000, 0x3000, 0x5000
ATTR_CODE32 = 0xC09B        # G, D, P, execute/read, accessed
ATTR_DATA32 = 0xC093        # G, B, P, read/write, accessed
ATTR_DATA16 = 0x8093        # G, P, read/write (B clear: SP)
PD, PT, FRAME_PAGE = 0x80000, 0x81000, 0x90000


def divide_by_zero(ss_base, ss_attr, esp, paging=False):
    cpu = Cpu(memory_size=2 << 20, model="386", devices=False)
    m = cpu.memory
    m[IDT:IDT + 8] = struct.pack("<HHBBH", HANDLER, CODE_SEL, 0, 0x8E, 0)
    m[GDT + 8:GDT + 16] = bytes.fromhex("ffff0000009bcf00")     # flat 32-bit code
    m[HANDLER] = 0xF4
    m[CODE:CODE + 3] = b"\xf6\xf1\xf4"          # div cl (CL = 0); hlt
    cpu.gdtr = (GDT, 15)
    cpu.idtr = (IDT, 8 * 32 - 1)
    cr0 = 0x11
    if paging:                                  # 0-2 MiB 1:1; the last page -> FRAME_PAGE
        m[PD:PD + 4] = struct.pack("<I", PT | 3)
        m[PD + 4092:PD + 4096] = struct.pack("<I", (PT + 0x1000) | 3)
        for p in range(512):
            m[PT + 4 * p:PT + 4 * p + 4] = struct.pack("<I", (p << 12) | 3)
        m[PT + 0x1000 + 4092:PT + 0x2000] = struct.pack("<I", FRAME_PAGE | 3)
        cpu.cr3 = PD
        cr0 |= 0x80000000
    cpu.cr0 = cr0
    cpu.set_segment("cs", CODE_SEL, base=0, limit=0xFFFFFFFF, attributes=ATTR_CODE32)
    cpu.set_segment("ss", 0x10, base=ss_base, limit=0xFFFFFFFF, attributes=ss_attr)
    cpu.eip, cpu.esp, cpu.ecx, cpu.eflags = CODE, esp, 0, 0x202
    cpu.step()
    return cpu


def frame_at(cpu, phys):
    return struct.unpack_from("<III", cpu.memory, phys)


@pytest.mark.parametrize("esp", [0, 4, 8])
def test_32bit_stack_wraps_through_zero(esp):
    cpu = divide_by_zero(0x10000, ATTR_DATA32, esp)
    assert cpu.last_exception == 0 and cpu.eip == HANDLER
    assert cpu.esp == (esp - 12) & 0xFFFFFFFF
    # linear = base + ESP, modulo 2^32
    assert frame_at(cpu, (0x10000 + cpu.esp) & 0xFFFFFFFF) == (CODE, CODE_SEL, 0x202)


def test_flat_stack_at_zero_pushes_to_the_top_of_the_linear_space():
    cpu = divide_by_zero(0, ATTR_DATA32, 0, paging=True)
    assert cpu.last_exception == 0 and cpu.eip == HANDLER
    assert cpu.esp == 0xFFFFFFF4
    assert frame_at(cpu, FRAME_PAGE + 0xFF4) == (CODE, CODE_SEL, 0x202)


def test_16bit_stack_wraps_sp_and_keeps_the_upper_half():
    cpu = divide_by_zero(0x20000, ATTR_DATA16, 0x12340000)
    assert cpu.last_exception == 0 and cpu.eip == HANDLER
    assert cpu.esp == 0x1234FFF4
    assert frame_at(cpu, 0x20000 + 0xFFF4) == (CODE, CODE_SEL, 0x202)
