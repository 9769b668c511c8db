"""Paging and the software TLB (core/paging.pxi): translation, accessed and
dirty bits, #PF with CR2 and its error code, WP, user/supervisor, INVLPG,
CR3 reloads against global pages, 4 MiB pages, self-modifying code, page
tables written by the guest, and the Python API through paging.

The tests set CR0 = PE|PG, CR3, CR4, GDTR and IDTR through the Python API
and run 16-bit code (0x66/0x67 prefixes reach 32-bit linear addresses
through DS with a 4 GiB limit); `cpl` is set directly. Exceptions go
through a protected-mode IDT of 16-bit interrupt gates into a ring-0 code
segment (from CPL 3 on the stack of the TSS at linear 0, TR's reset
state): vector v's handler is a HLT at offset v, so the run stops in the
handler of the exception taken.
"""
import struct

import pytest

from hvmm import Cpu

PE, PG, WP = 1, 1 << 31, 1 << 16
PSE, PGE = 0x10, 0x80
P, RW, US, A, D, PS, G = 1, 2, 4, 0x20, 0x40, 0x80, 0x100
PD = 0x80000            # page directory
PT0 = 0x81000           # identity map of the first 4 MiB
PT1 = 0x82000           # linear 4-8 MiB: empty unless a test maps a page
STUBS = 0x0050
CODE = 0x10000          # 1000:0000
IDT = 0x2000            # 16-bit interrupt gates to HANDLERS:v
GDT = 0x2800
HANDLERS = 0x08         # ring-0 16-bit code at STUBS * 16
STACK0 = 0x10           # ring-0 16-bit stack at 0x60000 (the TSS's SS0:ESP0)


def machine(code, cr4=0):
    cpu = Cpu(memory_size=16 << 20, model="386", devices=False)
    cpu.invalid_opcode_exits = False
    mem = cpu.memory
    for v in range(32):
        mem[IDT + 8 * v:IDT + 8 * v + 8] = struct.pack("<HHBBH", v, HANDLERS, 0, 0x86, 0)
        mem[STUBS * 16 + v] = 0xF4
    # limit FFFF, base STUBS * 16, present readable code, 16-bit, DPL 0
    mem[GDT + HANDLERS:GDT + HANDLERS + 8] = struct.pack("<HHBBBB", 0xFFFF, STUBS * 16, 0, 0x9A, 0, 0)
    mem[GDT + STACK0:GDT + STACK0 + 8] = struct.pack("<HHBBBB", 0xFFFF, 0, 6, 0x92, 0, 0)
    mem[4:10] = struct.pack("<IH", 0x1000, STACK0)      # 32-bit TSS: ESP0, SS0
    mem[CODE:CODE + len(code)] = bytes(code)
    struct.pack_into("<I", mem, PD, PT0 | P | RW | US)
    struct.pack_into("<I", mem, PD + 4, PT1 | P | RW | US)
    for i in range(1024):
        struct.pack_into("<I", mem, PT0 + 4 * i, (i << 12) | P | RW | US)
    cpu.cs = CODE >> 4
    cpu.ip = 0
    cpu.set_segment("ds", 0, base=0, limit=0xFFFFFFFF)
    cpu.ss = 0x3000
    cpu.sp = 0x1000
    cpu.gdtr = (GDT, 0xFF)
    cpu.idtr = (IDT, 32 * 8 - 1)
    cpu.cr4 = cr4
    cpu.cr3 = PD
    cpu.cr0 = PE | PG | 0x10
    return cpu


def pte(cpu, table, lin):
    return struct.unpack_from("<I", cpu.memory, table + 4 * ((lin >> 12) & 1023))[0]


def set_pte(cpu, table, lin, value):
    struct.pack_into("<I", cpu.memory, table + 4 * ((lin >> 12) & 1023), value)


def taken(cpu):
    return cpu.ip - 1 if cpu.cs & 0xFFFC == HANDLERS else None


def frame_ip(cpu):
    # a 16-bit gate's frame with an error code (#PF): error, IP, CS, FLAGS
    return struct.unpack_from("<H", cpu.memory, cpu.segment("ss")[1] + cpu.sp + 2)[0]


def ld(lin):            # mov eax,[dword lin]
    return b"\x66\x67\xa1" + struct.pack("<I", lin)


def st(lin):            # mov [dword lin],eax
    return b"\x66\x67\xa3" + struct.pack("<I", lin)


HLT = b"\xf4"
DATA = 0x400000         # linear: PT1's first page


def test_translation_sets_accessed_then_dirty_on_the_first_write():
    cpu = machine(ld(DATA + 0x10) + st(DATA + 0x20) + HLT)
    set_pte(cpu, PT1, DATA, 0x90000 | P | RW)
    cpu.memory[0x90010:0x90014] = b"\x11\x22\x33\x44"
    assert cpu.run(1).reason == "budget"
    assert cpu.eax == 0x44332211
    assert pte(cpu, PT1, DATA) == 0x90000 | P | RW | A       # a read: no D
    assert struct.unpack_from("<I", cpu.memory, PD + 4)[0] & (A | D) == A
    # the entry filled by the read must not let the write skip D
    assert cpu.run(5).reason == "hlt" and taken(cpu) is None
    assert pte(cpu, PT1, DATA) == 0x90000 | P | RW | A | D
    assert bytes(cpu.memory[0x90020:0x90024]) == b"\x11\x22\x33\x44"
    assert cpu.read_linear(DATA + 0x20, 4) == b"\x11\x22\x33\x44"


@pytest.mark.parametrize("write, cpl, entry, err", [
    (0, 0, 0, 0),                   # not present, supervisor read
    (1, 0, 0, 2),                   # not present, supervisor write
    (0, 3, 0, 4),                   # not present, user read
    (1, 3, 0, 6),                   # not present, user write
    (0, 3, P | RW, 5),              # supervisor page, user read
    (1, 3, P | RW, 7),              # supervisor page, user write
    (1, 3, P | US, 7),              # read-only page, user write
])
def test_page_fault_error_code_and_cr2(write, cpl, entry, err):
    cpu = machine(b"\x66\xb8\x78\x56\x34\x12" + (st if write else ld)(DATA + 0xABC) + HLT)
    set_pte(cpu, PT1, DATA, 0x90000 | entry)
    cpu.cpl = cpl
    assert cpu.run(20).reason == "hlt"
    assert taken(cpu) == 14
    assert cpu.cr2 == DATA + 0xABC and cpu.last_error_code == err
    assert frame_ip(cpu) == 6                           # restarts the access
    assert cpu.memory[0x90ABC] == 0                     # nothing written
    assert pte(cpu, PT1, DATA) & (A | D) == 0           # no bits set on a fault


def test_cr0_wp_decides_supervisor_writes_to_read_only_pages():
    code = b"\x66\xb8\x78\x56\x34\x12" + st(DATA) + HLT
    cpu = machine(code)
    set_pte(cpu, PT1, DATA, 0x90000 | P | US)
    assert cpu.run(20).reason == "hlt" and taken(cpu) is None
    assert cpu.memory[0x90000] == 0x78 and pte(cpu, PT1, DATA) & D
    cpu = machine(code)
    set_pte(cpu, PT1, DATA, 0x90000 | P | US)
    cpu.cr0 = PE | PG | WP | 0x10
    assert cpu.run(20).reason == "hlt"
    assert taken(cpu) == 14 and cpu.last_error_code == 3 and cpu.cr2 == DATA


def test_supervisor_entry_does_not_serve_user_accesses():
    # the same page read at CPL 0, then at CPL 3: the TLB tag holds the CPL
    cpu = machine(ld(DATA) + ld(DATA) + HLT)
    set_pte(cpu, PT1, DATA, 0x90000 | P | RW)
    assert cpu.run(1).reason == "budget"
    cpu.cpl = 3
    assert cpu.run(5).reason == "hlt"
    assert taken(cpu) == 14 and cpu.last_error_code == 5


def test_invlpg_drops_a_stale_translation():
    # mov eax,[DATA]; <PTE changed behind its back>; mov eax,[DATA];
    # invlpg [dword DATA]; mov eax,[DATA]
    code = ld(DATA) + ld(DATA) + b"\x67\x0f\x01\x3d" + struct.pack("<I", DATA) + ld(DATA) + HLT
    cpu = machine(code)
    set_pte(cpu, PT1, DATA, 0x90000 | P | RW)
    cpu.memory[0x90000] = 0xAA
    cpu.memory[0x91000] = 0xBB
    cpu.run(1)
    set_pte(cpu, PT1, DATA, 0x91000 | P | RW)
    cpu.run(1)
    assert cpu.eax & 0xFF == 0xAA           # cached, as the 386 may
    assert cpu.run(10).reason == "hlt" and taken(cpu) is None
    assert cpu.eax & 0xFF == 0xBB


def test_cr3_reload_flushes_all_but_global_pages():
    mov_cr3 = b"\x66\xb8" + struct.pack("<I", PD) + b"\x0f\x22\xd8"   # mov eax,PD; mov cr3,eax
    code = ld(DATA) + ld(DATA + 0x1000) + mov_cr3 + ld(DATA) + b"\x66\x89\xc3" + ld(DATA + 0x1000) + HLT
    cpu = machine(code, cr4=PGE)
    set_pte(cpu, PT1, DATA, 0x90000 | P | RW | G)
    set_pte(cpu, PT1, DATA + 0x1000, 0x92000 | P | RW)
    cpu.memory[0x90000], cpu.memory[0x91000] = 0x01, 0x02
    cpu.memory[0x92000], cpu.memory[0x93000] = 0x03, 0x04
    cpu.run(2)
    set_pte(cpu, PT1, DATA, 0x91000 | P | RW | G)
    set_pte(cpu, PT1, DATA + 0x1000, 0x93000 | P | RW)
    assert cpu.run(20).reason == "hlt" and taken(cpu) is None
    assert cpu.ebx & 0xFF == 0x01           # global: kept over the CR3 load
    assert cpu.eax & 0xFF == 0x04           # not global: walked again
    # without CR4.PGE the G bit means nothing
    cpu = machine(code)
    set_pte(cpu, PT1, DATA, 0x90000 | P | RW | G)
    set_pte(cpu, PT1, DATA + 0x1000, 0x92000 | P | RW)
    cpu.memory[0x90000], cpu.memory[0x91000] = 0x01, 0x02
    cpu.run(2)
    set_pte(cpu, PT1, DATA, 0x91000 | P | RW | G)
    cpu.run(20)
    assert cpu.ebx & 0xFF == 0x02


def test_four_mib_pages_with_pse():
    big = 0x800000
    cpu = machine(ld(big + 0x123456) + st(big + 0x200000) + HLT, cr4=PSE)
    struct.pack_into("<I", cpu.memory, PD + 8, 0x400000 | P | RW | PS)
    cpu.memory[0x523456] = 0x5A
    assert cpu.run(10).reason == "hlt" and taken(cpu) is None
    assert cpu.eax & 0xFF == 0x5A and cpu.memory[0x600000] == 0x5A
    assert struct.unpack_from("<I", cpu.memory, PD + 8)[0] & (A | D) == A | D
    # without CR4.PSE the same entry points at a page table
    cpu = machine(ld(big + 0x123456) + HLT)
    struct.pack_into("<I", cpu.memory, PD + 8, 0x400000 | P | RW | PS)
    cpu.run(10)
    assert taken(cpu) == 14 and cpu.cr2 == big + 0x123456


def test_self_modifying_code_through_an_alias_page():
    # the code page is also mapped at linear DATA; the byte store (at
    # offset 6, 6 bytes) rewrites the immediate of the mov bl,11h at 12
    code = b"\x66\xb8\x77\x00\x00\x00" + b"\x67\xa2" + struct.pack("<I", DATA + 13) + b"\xb3\x11" + HLT
    cpu = machine(code)
    set_pte(cpu, PT1, DATA, CODE | P | RW)
    assert cpu.run(10).reason == "hlt" and taken(cpu) is None
    assert cpu.bl == 0x77


def test_guest_page_table_write_and_cr3_reload_move_the_code_window():
    # IP 0 jumps to the next page (IP 1000h, linear 11000h) and back, so
    # both pages are in the TLB and in one fetch window; then the code
    # rewrites the PTE of linear 11000h, reloads CR3 and jumps there again:
    # it must run the new page, not the window's old translation
    new_pte = 0x95000 | P | RW | US
    code = (b"\xe9" + struct.pack("<H", 0x1000 - 3)
            + b"\x66\xb8" + struct.pack("<I", new_pte) + st(PT0 + 4 * 0x11)
            + b"\x66\xb8" + struct.pack("<I", PD) + b"\x0f\x22\xd8"
            + b"\xe9" + struct.pack("<H", 0x1000 - 28))
    cpu = machine(code)
    cpu.memory[0x11000:0x11003] = b"\xe9" + struct.pack("<H", (3 - 0x1003) & 0xFFFF)
    cpu.memory[0x95000:0x95003] = b"\xb1\x42" + HLT                 # mov cl,42h
    assert cpu.run(20).reason == "hlt" and taken(cpu) is None
    assert cpu.cl == 0x42 and cpu.ip == 0x1003


def test_write_linear_into_a_code_page_is_seen_by_the_next_fetch():
    cpu = machine(b"\xb1\x01" + b"\x90" * 8 + HLT)
    assert cpu.run(1).reason == "budget" and cpu.cl == 1
    cpu.write_linear(CODE + 2, b"\xb1\x02")
    assert cpu.run(20).reason == "hlt" and cpu.cl == 2


def test_fetch_faults_only_when_the_instruction_reaches_a_missing_page():
    # a HLT in the last byte of a page followed by a page that is not
    # present runs; an instruction crossing into it is #PF at that page
    cpu = machine(b"")
    set_pte(cpu, PT0, 0x20000, 0)
    cpu.memory[0x1FFFF] = 0xF4
    cpu.cs, cpu.ip = 0x1F00, 0xFFF
    assert cpu.run(5).reason == "hlt" and taken(cpu) is None and cpu.ip == 0x1000
    cpu = machine(b"")
    set_pte(cpu, PT0, 0x20000, 0)
    cpu.memory[0x1FFFF] = 0xB1      # mov cl,imm8 with the immediate missing
    cpu.cs, cpu.ip = 0x1F00, 0xFFF
    cpu.run(5)
    assert taken(cpu) == 14 and cpu.cr2 == 0x20000 and cpu.last_error_code == 0


def test_write_crossing_into_a_missing_page_changes_nothing():
    cpu = machine(b"\x66\xb8\x44\x33\x22\x11" + st(DATA + 0xFFE) + HLT)
    set_pte(cpu, PT1, DATA, 0x90000 | P | RW)
    assert cpu.run(20).reason == "hlt"
    assert taken(cpu) == 14 and cpu.cr2 == DATA + 0x1000 and cpu.last_error_code == 2
    assert cpu.memory[0x90FFE:0x91000] == b"\x00\x00"


def test_python_api_translates_without_faulting():
    cpu = machine(HLT)
    set_pte(cpu, PT1, DATA, 0x90000 | P)            # read-only
    cpu.memory[0x90FFE:0x91000] = b"\x12\x34"
    assert cpu.translate(DATA + 0xFFE) == 0x90FFE and cpu.translate(DATA + 0x1000) is None
    assert cpu.read_linear(DATA + 0xFFE, 4) == b"\x12\x34"  # stops at the missing page
    assert cpu.write_linear(DATA + 0xFFF, b"\x56\x78") == 1  # skips it; no WP check
    assert cpu.memory[0x90FFF] == 0x56
    assert cpu.peek(DATA + 0xFFE, 4) == b"\x12\x56"
    assert pte(cpu, PT1, DATA) == 0x90000 | P           # no A/D from a debugger
    assert cpu.cr2 == 0


def test_paging_off_again_is_the_identity():
    cpu = machine(ld(0x90000) + HLT)
    cpu.memory[0x90000] = 0x66
    set_pte(cpu, PT0, 0x90000, 0)
    cpu.cr0 = PE | 0x10                  # PG off: flushes and maps 1:1
    assert cpu.run(5).reason == "hlt" and cpu.eax & 0xFF == 0x66


@pytest.mark.parametrize("insn, imm", [
    (b"\x67\x11\x05", b""),            # adc [dword],ax   (reads CF)
    (b"\x67\xff\x05", b""),            # inc word [dword]
    (b"\x67\xd1\x15", b""),            # rcl word [dword],1
    (b"\x67\x0f\xba\x2d", b"\x01"),    # bts word [dword],1
    (b"\x67\x87\x05", b""),            # xchg [dword],ax
])
def test_read_modify_write_faults_before_changing_flags(insn, imm):
    # stc; mov eax,0FFFFh; then the access to a read-only page (CR0.WP):
    # the write fault comes with the read, so the restarted instruction
    # finds the flags (CF) and registers it started with
    code = b"\xf9" + b"\x66\xb8\xff\xff\x00\x00" + insn + struct.pack("<I", DATA) + imm + HLT
    cpu = machine(code)
    set_pte(cpu, PT1, DATA, 0x90000 | P)
    cpu.memory[0x90000:0x90004] = b"\xff\xff\x00\x00"
    cpu.cr0 = PE | PG | WP | 0x10
    cpu.run(2)
    flags = cpu.eflags & 0x8D5
    assert cpu.run(10).reason == "hlt"
    assert taken(cpu) == 14 and cpu.last_error_code == 3 and frame_ip(cpu) == 7
    assert cpu.eflags & 0x8D5 == flags and cpu.eax == 0xFFFF
    assert cpu.memory[0x90000:0x90004] == b"\xff\xff\x00\x00"
    assert pte(cpu, PT1, DATA) & D == 0
