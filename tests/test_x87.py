"""The x87 as software sees it beyond arithmetic (tests/test_x87_differential.py
has that): detection, #NM, #MF and the FERR#/IRQ 13 path, the FSTENV/FSAVE
and FXSAVE images with their pointers, and which forms each model has.

Guests are NASM source assembled here, run in real mode from 0000:7C00
with handlers that record the vector (see GUEST)."""
import shutil
import struct
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm not installed")

# Every vector's handler stores its number at 0:0600 (a word) and the
# faulting/returning IP at 0:0602, then halts; vector 0x75 (IRQ 13 on the
# slave PIC) is the FERR# handler of a PC BIOS.
PRELUDE = """
bits 16
org 0x7C00
start:
    jmp main
record:                 ; the handlers jump here with the vector in AL
    mov [0x600], al
    pop word [0x602]    ; IP of the frame
    hlt
%assign v 0
%rep 32
h %+ v: push ax
    mov al, v
    pop ax
    push ax
    mov ax, v
    mov [0x600], ax
    pop ax
    pop word [0x602]
    hlt
%assign v v+1
%endrep
irq13:
    inc word [0x604]    ; count the interrupts
    push ax
    xor al, al
    out 0xF0, al        ; clear the FERR# latch
    fnclex
    mov al, 0x20
    out 0xA0, al
    out 0x20, al
    pop ax
    iret
main:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [0x600], 0xFFFF
%assign v 0
%rep 32
    mov word [v*4], h %+ v
    mov word [v*4+2], 0
%assign v v+1
%endrep
    mov word [0x75*4], irq13
    mov word [0x75*4+2], 0
"""


def asm(tmp_path, body):
    src = tmp_path / "t.asm"
    src.write_text(PRELUDE + body)
    subprocess.run(["nasm", "-f", "bin", "-o", str(tmp_path / "t.bin"), str(src)], check=True)
    return (tmp_path / "t.bin").read_bytes()


def run(tmp_path, body, model="686", cr0=0x10, pic=None, budget=100_000):
    from hvmm._core import Cpu
    cpu = Cpu(memory_size=1 << 20, model=model)
    code = asm(tmp_path, body)
    cpu.memory[0x7C00:0x7C00 + len(code)] = code
    cpu.cs, cpu.eip = 0, 0x7C00
    cpu.cr0 = cr0
    cpu.invalid_opcode_exits = False
    if pic:
        pic.init(cpu, unmasked=(13,))
    ex = cpu.run(budget)
    return cpu, ex


def vector(cpu):
    return struct.unpack_from("<H", cpu.memory, 0x600)[0]


def word(cpu, addr):
    return struct.unpack_from("<H", cpu.memory, addr)[0]


def label_ip(tmp_path, body, label):
    """The offset of `label` in the assembled guest (from nasm's map)."""
    src = tmp_path / "m.asm"
    src.write_text(PRELUDE + body + f"\n_probe: dw {label}\n")
    subprocess.run(["nasm", "-f", "bin", "-o", str(tmp_path / "m.bin"), str(src)], check=True)
    data = (tmp_path / "m.bin").read_bytes()
    return struct.unpack_from("<H", data, len(data) - 2)[0]


@pytest.mark.parametrize("model,present", [("686", True), ("386", True), ("8086", False)])
def test_fninit_fnstsw_detection(tmp_path, model, present):
    cpu, ex = run(tmp_path, """
    mov word [0x700], 0x5A5A
    fninit
    fnstsw [0x700]
    fnstcw [0x702]
    hlt
""", model=model)
    assert ex.reason == "hlt"
    if present:
        assert word(cpu, 0x700) == 0 and word(cpu, 0x702) == 0x037F
    else:
        assert word(cpu, 0x700) == 0x5A5A       # no coprocessor answers


@pytest.mark.parametrize("cr0,insn,vec", [
    (0x10 | 4, "fld1", 7),          # EM: every ESC is #NM
    (0x10 | 8, "fninit", 7),        # TS: every ESC is #NM
    (0x10 | 8, "fwait", 0xFFFF),    # TS without MP: WAIT runs
    (0x10 | 8 | 2, "fwait", 7),     # TS and MP: WAIT is #NM
    (0x10, "fisttp word [0x700]", 6),   # SSE3: #UD on the P6
])
def test_device_not_available_and_invalid(tmp_path, cr0, insn, vec):
    body = f"""
    fninit
    clts
    mov eax, {cr0:#x}
    mov cr0, eax
fault:
    {insn}
    hlt
"""
    cpu, ex = run(tmp_path, body)
    assert vector(cpu) == vec
    if vec != 0xFFFF:
        assert word(cpu, 0x602) == label_ip(tmp_path, body, "fault")


def test_386_has_no_p6_forms(tmp_path):
    body = """
    fninit
    fld1
    fldz
fault:
    fcomi st0, st1
    hlt
"""
    cpu, _ = run(tmp_path, body, model="386")
    assert vector(cpu) == 6
    cpu, _ = run(tmp_path, body, model="686")
    assert vector(cpu) == 0xFFFF and cpu.eflags & 1     # 0 < 1: CF


DIVIDE_BY_ZERO = """
    fninit
    fnstcw [0x700]
    and word [0x700], ~4        ; unmask ZE
    fldcw [0x700]
    fldz
    fld1
    fdiv st0, st1               ; pending: ZE, ES
    fnstsw [0x706]              ; no-wait: no exception here
next:
    fld1                        ; the next waiting instruction reports it
    fnstsw [0x708]
    hlt
"""


def test_mf_with_cr0_ne(tmp_path):
    cpu, ex = run(tmp_path, DIVIDE_BY_ZERO, cr0=0x10 | 0x20)
    assert word(cpu, 0x706) & 0x84 == 0x84
    assert vector(cpu) == 16
    assert word(cpu, 0x602) == label_ip(tmp_path, DIVIDE_BY_ZERO, "next")


def test_ferr_irq13_without_ne(tmp_path, pic):
    """FERR# raises IRQ 13; the handler clears the latch (port F0) and the
    exception (FNCLEX), and the waiting instruction then runs."""
    cpu, ex = run(tmp_path, DIVIDE_BY_ZERO.replace("    fninit\n", "    sti\n    fninit\n", 1),
                  cr0=0x10, pic=pic)
    assert ex.reason == "hlt"
    assert word(cpu, 0x604) == 1                # one IRQ 13
    assert vector(cpu) == 0xFFFF                # no #MF
    assert word(cpu, 0x708) & 0xBF == 0         # cleared; FLD1 ran (TOP moved)
    assert (word(cpu, 0x708) >> 11) & 7 == 5


def test_ferr_without_interrupts_waits(tmp_path):
    """IF = 0: nothing can take IRQ 13, so the CPU stays at the waiting
    instruction (a halt the monitor reports)."""
    cpu, ex = run(tmp_path, "    cli\n" + DIVIDE_BY_ZERO, cr0=0x10)
    assert ex.reason == "hlt" and vector(cpu) == 0xFFFF
    assert cpu.ip == label_ip(tmp_path, "    cli\n" + DIVIDE_BY_ZERO, "next")


def test_fstenv_real_mode_pointers(tmp_path):
    body = """
    mov ax, 0x1234
    mov es, ax
    fninit
    fld dword [es:0x10]
there:
    fstenv [0x800]              ; 16-bit real-mode layout
    o32 fstenv [0x820]          ; 32-bit
    fnstcw [0x860]
    hlt
"""
    cpu, ex = run(tmp_path, body)
    ip = label_ip(tmp_path, body, "there") - 5    # fld dword [es:0x10] is 5 bytes
    fip, fdp = ip, 0x12340 + 0x10
    env16 = struct.unpack_from("<7H", cpu.memory, 0x800)
    assert env16[0] == 0x37F and env16[2] == 0x7FFF               # ST(0) = R7: +0.0 (tag 01)
    assert env16[3] == fip & 0xFFFF and env16[4] == ((fip >> 4) & 0xF000) | 0x106   # FOP D9 06
    assert env16[5] == fdp & 0xFFFF and env16[6] == (fdp >> 4) & 0xF000
    env32 = struct.unpack_from("<7I", cpu.memory, 0x820)
    assert env32[3] & 0xFFFF == fip and env32[4] == ((fip >> 4) & 0x0FFFF000) | 0x106
    assert env32[5] & 0xFFFF == fdp & 0xFFFF and env32[6] == (fdp >> 4) & 0x0FFFF000
    assert word(cpu, 0x860) == 0x37F | 0x3F       # FSTENV masked every exception


def test_fxsave_fxrstor(tmp_path):
    body = """
    fninit
    fldpi
    fld1
    fxsave [0x800]
    fninit
    fxrstor [0x800]
    fstp tword [0xA00]
    fstp tword [0xA10]
    fnstsw [0xA20]
misaligned:
    fxsave [0x808]
    hlt
"""
    cpu, ex = run(tmp_path, body)
    img = bytes(cpu.memory[0x800:0x800 + 160])
    assert img[0:2] == b"\x7f\x03" and (struct.unpack_from("<H", img, 2)[0] >> 11) & 7 == 6
    assert img[4] == 0xC0                          # two registers in use (abridged tag)
    assert bytes(cpu.memory[0xA00:0xA0A]) == bytes.fromhex("0000000000000080ff3f")   # 1.0
    assert bytes(cpu.memory[0xA10:0xA1A]) == bytes.fromhex("35c26821a2da0fc90040")   # pi
    assert vector(cpu) == 13 and word(cpu, 0x602) == label_ip(tmp_path, body, "misaligned")
    cpu, ex = run(tmp_path, body, model="386")
    assert vector(cpu) == 6                         # no FXSR on the 386


def test_fnsave_frstor_round_trip_and_init(tmp_path):
    body = """
    fninit
    fldpi
    fld1
    fsave [0x800]               ; and FNINIT
    fnstsw [0x900]
    frstor [0x800]
    fstp tword [0xA00]
    fnstsw [0x902]
    hlt
"""
    cpu, ex = run(tmp_path, body)
    assert word(cpu, 0x900) == 0                   # FSAVE initialised the FPU
    assert bytes(cpu.memory[0xA00:0xA0A]) == bytes.fromhex("0000000000000080ff3f")
    assert (word(cpu, 0x902) >> 11) & 7 == 7
