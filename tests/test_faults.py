"""Precise faults in the core (docs/faults.md) and the real-mode defects the
286 captures exposed: segment-limit checks (#GP/#SS), the instruction
length limit, LOCK and 8F/C6/C7 #UD, double and triple faults, and
interruptible REP string instructions.

Guests are hand-assembled bytes run on a bare Cpu: code at 1000:0000, each
interrupt vector V pointing at a HLT at 0050:V, so the run ends at the
handler of the exception taken, with its frame on the stack.
"""
import shutil
import struct
import subprocess

import pytest

from hvmm import Cpu

CODE_SEG = 0x1000
STUBS = 0x0050          # vector v's handler: a HLT at 0050:v


def machine(model, code, devices=False):
    cpu = Cpu(memory_size=1 << 20, model=model, devices=devices)
    cpu.invalid_opcode_exits = False
    mem = cpu.memory
    for v in range(32):
        mem[v * 4:v * 4 + 4] = struct.pack("<HH", v, STUBS)
        mem[STUBS * 16 + v] = 0xF4
    base = CODE_SEG * 16
    mem[base:base + len(code)] = bytes(code)
    cpu.cs = CODE_SEG
    cpu.ip = 0
    cpu.ds = cpu.es = 0x2000
    cpu.ss = 0x3000
    cpu.sp = 0x1000
    return cpu


def taken(cpu):
    """The vector whose handler the run stopped in (HLT), or None."""
    if cpu.cs != STUBS:
        return None
    return cpu.ip - 1


def frame(cpu):
    """(IP, CS, FLAGS) pushed by the interrupt."""
    ss = cpu.ss * 16
    return struct.unpack_from("<HHH", cpu.memory, ss + cpu.sp)


# ---- segment limits ---------------------------------------------------------

def test_word_across_offset_ffff_is_gp_on_the_386_and_wraps_on_the_8086():
    code = bytes.fromhex("b83412 8b06ffff".replace(" ", ""))   # mov ax,1234h; mov ax,[FFFF]
    cpu = machine("386", code)
    cpu.memory[0x2FFFF] = 0xAA
    cpu.memory[0x20000] = 0xBB
    assert cpu.run(10).reason == "hlt"
    assert taken(cpu) == 13
    assert frame(cpu)[:2] == (3, CODE_SEG)      # restarts the faulting instruction
    assert cpu.ax == 0x1234 and cpu.sp == 0x1000 - 6
    cpu = machine("8086", code)
    cpu.memory[0x2FFFF] = 0xAA
    cpu.memory[0x20000] = 0xBB
    cpu.run(2)
    assert cpu.ax == 0xBBAA                     # the 8086 wraps inside the segment


def test_bp_based_and_stack_accesses_raise_ss():
    # mov ax,[bp+0] with BP = FFFF: SS-based
    cpu = machine("386", bytes.fromhex("8b4600"))
    cpu.bp = 0xFFFF
    cpu.run(10)
    assert taken(cpu) == 12
    # the same through DS (override): #GP
    cpu = machine("386", bytes.fromhex("3e8b4600"))
    cpu.bp = 0xFFFF
    cpu.run(10)
    assert taken(cpu) == 13
    # a byte at FFFF is inside the limit
    cpu = machine("386", bytes.fromhex("8a4600f4"))
    cpu.bp = 0xFFFF
    cpu.memory[0x3FFFF] = 0x5A
    cpu.run(10)
    assert taken(cpu) is None and cpu.ax & 0xFF == 0x5A
    # POP with SP = FFFF: the fault leaves SP as it was
    cpu = machine("386", bytes.fromhex("58"))
    cpu.sp = 0xFFFF
    cpu.run(5)
    assert taken(cpu) == 12 and cpu.sp == 0xFFFF - 6


def test_popa_faulting_on_its_last_pop_changes_nothing():
    # SP = FFF1: the eighth word crosses FFFF; no register is written and
    # SP is restored before the #SS frame is pushed
    cpu = machine("386", bytes.fromhex("61"))
    cpu.sp = 0xFFF1
    cpu.ax, cpu.bx, cpu.si = 0x1111, 0x2222, 0x3333
    cpu.memory[0x3FFF1:0x40000] = b"\x77" * 15
    cpu.run(5)
    assert taken(cpu) == 12
    assert frame(cpu)[0] == 0 and cpu.sp == 0xFFF1 - 6
    assert (cpu.ax, cpu.bx, cpu.si) == (0x1111, 0x2222, 0x3333)


def test_code_fetch_across_the_cs_limit_faults_before_the_instruction_runs():
    cpu = machine("386", b"")
    cpu.memory[CODE_SEG * 16 + 0xFFFE:CODE_SEG * 16 + 0x10000] = b"\xb8\x34"  # mov ax,... cut off
    cpu.ip = 0xFFFE
    cpu.ax = 0x1111
    cpu.run(5)
    assert taken(cpu) == 13
    assert frame(cpu)[0] == 0xFFFE and cpu.ax == 0x1111
    # a one-byte instruction at FFFF is fine (IP wraps to 0)
    cpu = machine("386", b"\xf4")
    cpu.memory[CODE_SEG * 16 + 0xFFFF] = 0x40      # inc ax
    cpu.ip = 0xFFFF
    cpu.run(5)
    assert taken(cpu) is None and cpu.ax == 1


def test_32_bit_offsets_past_the_limit_fault_unless_unreal():
    code = bytes.fromhex("678b0500000100")     # mov ax,[dword 10000h]
    cpu = machine("386", code)
    cpu.run(5)
    assert taken(cpu) == 13
    cpu = machine("386", code + b"\xf4")
    cpu.set_segment("ds", 0x2000, limit=0xFFFFFFFF)      # unreal mode
    cpu.memory[0x30000:0x30002] = b"\x78\x56"
    cpu.run(5)
    assert taken(cpu) is None and cpu.ax == 0x5678
    # unreal mode: a 16-bit offset at FFFF reads on past it, no wrap
    cpu = machine("386", bytes.fromhex("8b06ffff") + b"\xf4")
    cpu.set_segment("ds", 0x2000, limit=0xFFFFFFFF)
    cpu.memory[0x2FFFF:0x30001] = b"\x11\x22"
    cpu.run(5)
    assert taken(cpu) is None and cpu.ax == 0x2211


def test_string_instruction_fault_keeps_the_iterations_done():
    # rep stosw from DI = FFF9, CX = 10: 3 words fit, the 4th crosses FFFF
    cpu = machine("386", bytes.fromhex("f3ab"))
    cpu.di, cpu.cx, cpu.ax = 0xFFF9, 10, 0xBEEF
    cpu.step()
    assert (cpu.cs, cpu.ip) == (STUBS, 13)      # the #GP handler, once stepped
    cpu.step()
    assert taken(cpu) == 13
    assert (cpu.di, cpu.cx) == (0xFFFF, 7)
    assert frame(cpu)[0] == 0           # EIP on the REP
    assert bytes(cpu.memory[0x2FFF9:0x30000]) == b"\xef\xbe" * 3 + b"\0"


# ---- instruction length --------------------------------------------------------

@pytest.mark.parametrize("model", ["8086", "386"])
def test_200_prefixes(model):
    code = b"\x26" * 200 + b"\x40" + b"\xf4"      # es: x200, inc ax, hlt
    cpu = machine(model, code)
    ex = cpu.run(10)
    if model == "386":
        assert taken(cpu) == 13 and frame(cpu)[0] == 0 and cpu.ax == 0
    else:
        assert ex.reason == "hlt" and taken(cpu) is None and cpu.ax == 1
        assert cpu.ip == 202


@pytest.mark.parametrize("where", [0, 0xFFF0 - 200])
def test_200_prefixes_near_the_end_of_the_code_window(where):
    # the run of prefixes crosses the direct-fetch window's end and the
    # segment's (8086: IP wraps, no read past any buffer)
    cpu = machine("8086", b"")
    base = CODE_SEG * 16
    code = b"\x2e" * 200 + b"\x40" + b"\xf4"
    for i, b in enumerate(code):
        cpu.memory[base + ((where + i) & 0xFFFF)] = b
    cpu.ip = where
    cpu.run(10)
    assert cpu.ax == 1 and taken(cpu) is None


def test_15_bytes_run_16_fault():
    # ds: x6, add dword [1000h],1 (66 81 06 0010 imm32): 15 bytes
    ok = b"\x3e" * 6 + bytes.fromhex("6681060010") + b"\x01\x00\x00\x00"
    assert len(ok) == 15
    cpu = machine("386", ok + b"\xf4")
    cpu.run(5)
    assert taken(cpu) is None and cpu.memory[0x21000] == 1
    cpu = machine("386", b"\x3e" + ok)                                   # 16 bytes
    cpu.run(5)
    assert taken(cpu) == 13 and frame(cpu)[0] == 0 and cpu.memory[0x21000] == 0


# ---- #UD -------------------------------------------------------------------------

@pytest.mark.parametrize("code,ud_386", [
    ("f0010600 10", False),     # lock add [1000h],ax
    ("f001c0", True),           # lock add ax,ax: register destination
    ("f090", True),             # lock nop
    ("f08b060010", True),       # lock mov ax,[1000h]: not lockable
    ("f00fab060010", False),    # lock bts [1000h],ax
    ("f0f6160010", False),      # lock not byte [1000h]
    ("f0f6060010ff", True),     # lock test byte [1000h],ffh
    ("8f0e0010", True),         # pop /1
    ("c60e001012", True),       # mov /1 byte
    ("c73e00103412", True),     # mov /7 word
    ("8f060010", False),        # pop word [1000h]
    ("c606001012", False),      # mov byte [1000h],12h
])
def test_lock_and_reg_field_ud(code, ud_386):
    code = bytes.fromhex(code.replace(" ", "")) + b"\xf4"
    cpu = machine("386", code)
    cpu.run(5)
    assert (taken(cpu) == 6) == ud_386
    if ud_386:
        assert frame(cpu)[0] == 0
    cpu = machine("8086", code.replace(b"\x0f\xab", b"\x90\x90"))  # no 0F page
    cpu.run(5)
    assert taken(cpu) is None       # the 8086 takes LOCK anywhere, ignores reg


# ---- double and triple faults -------------------------------------------------------

def test_fault_while_delivering_a_fault_is_a_double_fault():
    # LIDT with a limit covering vectors 0-12 only: the #GP of mov ax,[FFFF]
    # cannot be delivered (#GP again) -> #DF, vector 8, delivered
    code = bytes.fromhex("0f011e0010" "8b06ffff")
    cpu = machine("386", code)
    cpu.memory[0x21000:0x21006] = struct.pack("<HI", 13 * 4 - 1, 0)
    cpu.run(5)
    assert taken(cpu) == 8
    assert frame(cpu)[0] == 5


def test_fault_while_delivering_a_double_fault_is_a_triple_fault():
    # SP = 1: the #SS of PUSH AX cannot push its frame, nor can the #DF
    cpu = machine("386", bytes.fromhex("50"))
    cpu.sp = 1
    ex = cpu.run(5)
    assert ex.reason == "triple_fault"
    assert (cpu.cs, cpu.ip, cpu.sp) == (CODE_SEG, 0, 1)
    # the 8086 wraps SP and pushes
    cpu = machine("8086", bytes.fromhex("50f4"))
    cpu.sp = 1
    assert cpu.run(5).reason == "hlt" and cpu.sp == 0xFFFF


def test_idt_limit_zero_still_resets_through_a_triple_fault():
    cpu = machine("386", bytes.fromhex("0f011e0010" "cc"))   # lidt; int3
    cpu.memory[0x21000:0x21006] = b"\0" * 6
    assert cpu.run(5).reason == "triple_fault"


# ---- interruptible REP ------------------------------------------------------------------

def test_rep_movs_with_a_huge_count_honours_the_budget():
    # 67 F3 A5 (rep movsd? no: movsw with 32-bit addressing) with ECX near
    # 2^32, in unreal mode so no offset faults: it stops at the budget,
    # within one run, unretired, with its progress in ECX/ESI/EDI
    cpu = machine("386", bytes.fromhex("67f3a5f4"))
    for s in ("ds", "es"):
        cpu.set_segment(s, 0, base=0, limit=0xFFFFFFFF)
    cpu.ecx = 0xFFFFFFF0
    cpu.esi = 0x00200000
    cpu.edi = 0x00400000
    ex = cpu.run(2_000_000)
    assert ex.reason == "budget"
    assert cpu.instructions == 2_000_000
    assert cpu.ecx == 0xFFFFFFF0 - 2_000_000
    assert (cpu.esi, cpu.edi) == (0x00200000 + 4_000_000, 0x00400000 + 4_000_000)
    assert cpu.ip == 0
    cpu.run(1000)
    assert cpu.ecx == 0xFFFFFFF0 - 2_001_000 and cpu.ip == 0


def test_rep_counts_one_step_per_iteration_and_step_runs_it_whole():
    cpu = machine("386", bytes.fromhex("f3aa" "f4"))      # rep stosb; hlt
    cpu.cx = 100
    cpu.run(1000)
    assert cpu.instructions == 101 and cpu.cx == 0     # 100 iterations + HLT
    cpu = machine("386", bytes.fromhex("f3aa"))
    cpu.cx = 100
    cpu.step()
    assert cpu.cx == 0 and cpu.ip == 2


IRQ_GUEST = """
    bits 16
    org 0
    cli
    xor ax, ax
    mov ds, ax
    mov word [8*4], irq0
    mov word [8*4+2], cs
    mov al, 0x34            ; PIT channel 0, mode 2, lo/hi
    out 0x43, al
    mov al, 200
    out 0x40, al
    xor al, al
    out 0x40, al
    mov al, 0x11            ; PIC: ICW1, ICW2 (vectors 8-15), ICW3, ICW4
    out 0x20, al
    mov al, 0x08
    out 0x21, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x01
    out 0x21, al
    mov al, 0xFE            ; only IRQ0
    out 0x21, al
    mov ax, 0x2000
    mov es, ax
    xor di, di
    mov cx, 0xF000
    mov al, 0x5A
    cld
    sti
rep_at:
    rep stosb
    cli
    mov [0x600], di
    mov [0x602], cx
    out 0xF4, al
irq0:
    push ax
    push bp
    mov bp, sp
    mov ax, [bp+4]          ; interrupted IP
    cmp ax, rep_at
    jne .other
    inc word [0x604]        ; taken in the middle of the REP
    mov ax, cx
    mov [0x606], ax         ; CX seen there
.other:
    mov al, 0x20
    out 0x20, al
    pop bp
    pop ax
    iret
"""


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm not installed")
@pytest.mark.parametrize("model", ["8086", "386"])
def test_interrupt_taken_between_rep_iterations(tmp_path, model):
    src = tmp_path / "irq.asm"
    src.write_text(IRQ_GUEST)
    subprocess.run(["nasm", "-f", "bin", "-o", str(tmp_path / "irq.bin"), str(src)], check=True)
    code = (tmp_path / "irq.bin").read_bytes()
    cpu = Cpu(memory_size=1 << 20, model=model, ips=10_000_000)
    cpu.memory[0x10000:0x10000 + len(code)] = code
    cpu.cs, cpu.ip, cpu.ss, cpu.sp = 0x1000, 0, 0x0000, 0x7000
    ex = cpu.run(10_000_000)
    assert ex.reason == "debug_exit"
    di, cx, hits, cx_seen = struct.unpack_from("<HHHH", cpu.memory, 0x600)
    assert (di, cx) == (0xF000, 0)                  # the REP finished
    assert bytes(cpu.memory[0x20000:0x2F000]) == b"\x5a" * 0xF000
    assert hits > 0 and 0 < cx_seen < 0xF000        # ... after interrupts mid-way
