"""The 286 model where it differs from the 386 (its real mode against a
real 80286's captures is tests/test_conformance.py): the 10-byte limit,
SMSW, LMSW with no way back, the 0x0F page and prefixes it lacks, FLAGS
bits 12-15, what a fault leaves behind, its 6-byte descriptors in 16-bit
protected mode, and FreeDOS booting on it."""
import struct

import pytest

from hvmm._core import Cpu

IVT_HLT = 0x500          # every vector points at a HLT here; the frame tells which
CODE = 0x7C00


def run(code: bytes, model="286", regs=None, budget=1000, memory=None):
    cpu = Cpu(memory_size=1 << 20, model=model, devices=False)
    cpu.invalid_opcode_exits = False
    for v in range(32):                               # vector v -> 0050:v (a HLT)
        cpu.memory[4 * v:4 * v + 4] = struct.pack("<HH", v, IVT_HLT >> 4)
    cpu.memory[IVT_HLT:IVT_HLT + 32] = b"\xf4" * 32
    cpu.memory[CODE:CODE + len(code) + 1] = code + b"\xf4"
    for addr, data in (memory or {}).items():
        cpu.memory[addr:addr + len(data)] = data
    cpu.cs, cpu.ip, cpu.ss, cpu.sp = 0, CODE, 0, 0x7000
    for k, v in (regs or {}).items():
        setattr(cpu, k, v)
    cpu.run(budget)
    fault = cpu.ip - 1 if cpu.cs == IVT_HLT >> 4 else None
    return cpu, fault


def frame_ip(cpu):
    """The IP an exception pushed (real mode: IP, CS, FLAGS at SS:SP)."""
    return struct.unpack_from("<H", cpu.memory, (cpu.ss << 4) + cpu.sp)[0]


def test_instruction_length_limit_is_10_bytes():
    add = b"\x81\x06\x00\x10\x34\x12"                 # add word [1000h], 1234h: 6 bytes
    cpu, fault = run(b"\x2e" * 4 + add)               # 10 bytes
    assert fault is None and cpu.memory[0x1000:0x1002] == b"\x34\x12"
    for model, expect in (("286", 13), ("386", None)):
        cpu, fault = run(b"\x2e" * 5 + add, model)    # 11 bytes: #GP(0) on the 286 only
        assert fault == expect, model
        if fault:
            assert frame_ip(cpu) == CODE and cpu.memory[0x1000:0x1002] == b"\0\0"
    cpu, fault = run(b"\x2e" * 200 + add)             # a run of prefixes reads no further
    assert fault == 13 and frame_ip(cpu) == CODE


def test_smsw_reads_fff0_and_lmsw_cannot_leave_protected_mode():
    smsw_ax = b"\x0f\x01\xe0"
    assert run(smsw_ax)[0].ax == 0xFFF0
    assert run(smsw_ax, "386")[0].ax == 0x0010        # the 386's CR0.ET, nothing above
    # mov ax,1; lmsw ax; xor ax,ax; lmsw ax; smsw bx
    cpu, fault = run(b"\xb8\x01\x00\x0f\x01\xf0\x31\xc0\x0f\x01\xf0\x0f\x01\xe3")
    assert fault is None and cpu.bx == 0xFFF1 and cpu.cr0 & 1
    assert cpu.mode_switches == 1


@pytest.mark.parametrize("code", [
    b"\x0f\xb6\xc0",            # MOVZX
    b"\x0f\xa0", b"\x0f\xa9",   # PUSH FS, POP GS
    b"\x0f\x80\x00\x00",        # JO rel16
    b"\x0f\x20\xc0", b"\x0f\x22\xc0", b"\x0f\x21\xc0", b"\x0f\x23\xc0",    # MOV CRx/DRx
    b"\x0f\xba\xe0\x01",        # BT r/m16, imm8
    b"\x0f\x01\x38",            # INVLPG
    b"\x0f\xa2",                # CPUID
    b"\x0f\xc8",                # BSWAP
    b"\x66\x90", b"\x67\x90", b"\x64\x90", b"\x65\x90",   # the size prefixes, FS:, GS:
    b"\x8c\xe0", b"\x8e\xe8",   # MOV AX,FS; MOV GS,AX
    b"\xf1",                    # (LOCK on the 286, INT1 on the 386) then HLT... see below
])
def test_386_opcodes_are_invalid(code):
    cpu, fault = run(code)
    if code == b"\xf1":         # F1 is a LOCK prefix: LOCK HLT runs the HLT
        assert fault is None and cpu.ip == CODE + 2
        return
    assert fault == 6 and frame_ip(cpu) == CODE
    cpu, fault = run(code, "386")
    assert fault != 6


def test_the_286s_own_0f_opcodes():
    assert run(b"\x0f\x06")[1] is None                # CLTS in real mode
    for code in (b"\x0f\x00\xc0", b"\x0f\x02\xc0", b"\x0f\x03\xc0"):   # SLDT LAR LSL
        assert run(code)[1] == 6                      # protected mode only
    # sgdt [0x1000]: limit, a 24-bit base and FFh above it
    cpu, fault = run(b"\x0f\x01\x06\x00\x10")
    assert fault is None and cpu.memory[0x1000:0x1006] == b"\xff\xff\x00\x00\x00\xff"
    assert run(b"\x0f\x01\x06\x00\x10", "386")[0].memory[0x1005] == 0


def test_flags_bits_12_to_15():
    # push 0F000h; popf; pushf; pop ax
    code = b"\x68\x00\xf0\x9d\x9c\x58"
    assert run(code)[0].ax & 0xF000 == 0              # a real-mode 286 holds none of them
    assert run(code, "386")[0].ax & 0xF000 == 0x7000  # IOPL, NT
    assert run(b"\x9c\x58", "8086")[0].ax & 0xF000 == 0xF000
    # in protected mode the 286 has IOPL and NT: mov ax,1; lmsw ax; then the same
    assert run(b"\xb8\x01\x00\x0f\x01\xf0" + code)[0].ax & 0xF000 == 0x7000


def test_limit_faults_and_what_they_leave():
    # mov ax,[bp+si] at SS:FFFF: INT 13 on a real-mode 286, #SS (12) on a 386
    for model, vec in (("286", 13), ("386", 12)):
        assert run(b"\x8b\x02", model, {"bp": 0xFFFF, "si": 0})[1] == vec
    # movsw from DS:FFFF: the 286 has advanced SI past the faulting read
    for model, si in (("286", 0x0001), ("386", 0xFFFF)):
        cpu, fault = run(b"\xa5", model, {"si": 0xFFFF, "di": 0x100})
        assert fault == 13 and (cpu.si, cpu.di) == (si, 0x100), model
    # rep stosw to ES:FFFF: DI advanced, CX counted down twice (the captures)
    for model, di, cx in (("286", 0x0001, 3), ("386", 0xFFFF, 5)):
        cpu, fault = run(b"\xf3\xab", model, {"di": 0xFFFF, "cx": 5})
        assert fault == 13 and (cpu.di, cpu.cx) == (di, cx), model
        assert frame_ip(cpu) == CODE
    # pop word [FFFFh]: the 286 keeps the popped SP
    for model, sp in (("286", 0x7002), ("386", 0x7000)):
        cpu, fault = run(b"\x8f\x06\xff\xff", model)
        assert fault == 13 and cpu.sp + 6 == sp, model


# ---- 16-bit protected mode ----------------------------------------------------------

GDT, IDT, PSEUDO = 0x0800, 0x1000, 0x0700


def _desc(base, limit, access, byte6=0, byte7=0):
    return struct.pack("<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF,
                       access, byte6, byte7)


def pm_run(tail: bytes, model="286"):
    """lgdt; lidt; lmsw PE; jmp 08:next; then `tail` in 16-bit protected
    mode. Exceptions go through 286 interrupt gates to 0008:0500+vector."""
    gdt = (b"\0" * 8 + _desc(0, 0xFFFF, 0x9A)                  # 08: code
           + _desc(0x12012000, 0x0FFF, 0x92, 0xCF, 0x12)       # 10: data, 386 bytes 6-7
           + _desc(0x3000, 0x67, 0x89)                         # 18: a 386 TSS
           + _desc(0x3000, 0x2B, 0x81))                        # 20: a 286 TSS
    idt = b"".join(struct.pack("<HHBBH", IVT_HLT + v, 0x08, 0, 0x86, 0) for v in range(32))
    head = (b"\x0f\x01\x16" + struct.pack("<H", PSEUDO) + b"\x0f\x01\x1e" + struct.pack("<H", PSEUDO + 6)
            + b"\xb8\x01\x00\x0f\x01\xf0")
    head += b"\xea" + struct.pack("<HH", CODE + len(head) + 5, 0x08)
    memory = {GDT: gdt, IDT: idt, 0x12000: b"\xef\xbe",
              PSEUDO: struct.pack("<HI", len(gdt) - 1, GDT) + struct.pack("<HI", len(idt) - 1, IDT)}
    cpu, _ = run(head + tail, model, memory=memory)
    fault = cpu.ip - 1 - IVT_HLT if cpu.cs == 0x08 and IVT_HLT <= cpu.ip < IVT_HLT + 33 else None
    return cpu, fault


def test_protected_mode_reads_6_byte_descriptors():
    # mov ax,10h; mov ds,ax; mov ax,[0]; mov bx,10h; lsl cx,bx
    tail = b"\xb8\x10\x00\x8e\xd8\xa1\x00\x00\xbb\x10\x00\x0f\x03\xcb"
    cpu, fault = pm_run(tail)
    assert fault is None and cpu.cr0 & 1
    assert cpu.ax == 0xBEEF and cpu.cx == 0x0FFF          # base 012000h, limit 0FFFh
    cpu, fault = pm_run(tail, "386")
    assert fault is None and cpu.ax != 0xBEEF and cpu.cx == 0xFFFF   # base 12012000h, 4 GiB


def test_protected_mode_rejects_386_system_descriptors():
    ltr = b"\xb8%c\x00\x0f\x00\xd8\x0f\x00\xca"          # mov ax,sel; ltr ax; str dx
    cpu, fault = pm_run(ltr % 0x18)                       # a 386 TSS: type 0 to a 286
    assert fault == 13 and cpu.memory[(cpu.ss << 4) + cpu.sp] == 0x18   # error code: the selector
    cpu, fault = pm_run(ltr % 0x20)                       # a 286 TSS
    assert fault is None and cpu.dx == 0x20
    assert pm_run(ltr % 0x18, "386")[1] is None


def test_no_control_or_debug_registers_in_protected_mode():
    assert pm_run(b"\x0f\x20\xc0")[1] == 6                # mov eax,cr0
    assert pm_run(b"\x0f\x21\xc0")[1] == 6                # mov eax,dr0


def test_memory_is_at_most_16_mib():
    Cpu(memory_size=16 << 20, model="286", devices=False)
    with pytest.raises(ValueError, match="24 address lines"):
        Cpu(memory_size=32 << 20, model="286", devices=False)


def test_freedos_boots_on_a_286(freedos, hvmm_popen, tmp_path):
    proc = hvmm_popen("boot", freedos, "--cpu", "286", "--headless", "--wait", "A:\\>",
                      "--type", r"ver\r", "--wait", "FreeCom version", "--print-screen",
                      cwd=tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    assert "FreeDOS kernel" in out and "FreeCom version" in out
