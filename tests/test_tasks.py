"""Hardware task switches (core/task.pxi) beyond what the pm_task guest
checks: a double fault through a task gate (how i386 kernels catch kernel
stack overflows), a fault after a switch's commit point, delivered in the
new task, and `--stats`' count. Guests are assembled with nasm and run by
`hvmm exec --protected`; they end with UD2 and the registers are read from
the error line (--regs)."""

import shutil
import subprocess
from pathlib import Path

import pytest

import hvmm

NASM = shutil.which("nasm")
PM_GUESTS = Path(hvmm.__file__).resolve().parent / "guests" / "pm"
needs_nasm = pytest.mark.skipif(NASM is None, reason="nasm not installed")

# Own GDT: 0x08 code, 0x10 data (flat, ring 0), 0x18 TSS A at 0x3000 (the
# running task), 0x20 TSS X at 0x3100; IDT at 0x2000 (32 vectors, all not
# present until set). X starts at x_task with ESP 0x9000. `%1` is the
# guest's own set-up, run before the faulting MOV DS.
PRELUDE = """
        bits 32
        org 0x100000
        lgdt [gdtr]
        jmp 0x08:reload
reload: mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov edi, 0x2000
        mov ecx, 32 * 2
        xor eax, eax
        rep stosd
        mov edi, 0x3000                 ; both TSSs zeroed
        mov ecx, 0x200 / 4
        rep stosd
        lidt [idtr]
        mov ax, 0x18
        ltr ax
        mov dword [0x3100 + 0x20], x_task       ; EIP
        mov dword [0x3100 + 0x24], 2            ; EFLAGS
        mov dword [0x3100 + 0x38], 0x9000       ; ESP
        mov dword [0x3100 + 0x4C], 0x08         ; CS
        mov eax, 0x10
        mov [0x3100 + 0x48], eax                ; ES SS DS
        mov [0x3100 + 0x50], eax
        mov [0x3100 + 0x54], eax
"""

POSTLUDE = """
        align 8
gdt:    dq 0
        dq 0x00CF9A000000FFFF
        dq 0x00CF92000000FFFF
        dq 0x0000890030000067           ; TSS A, 0x3000
        dq 0x0000890031000067           ; TSS X, 0x3100
gdtr:   dw 5 * 8 - 1
        dd gdt
idtr:   dw 32 * 8 - 1
        dd 0x2000
"""


def task_gate(vec):
    """IDT entry `vec` -> a task gate to TSS X (0x20)."""
    return f"""
        mov dword [0x2000 + {vec} * 8], 0x20 << 16
        mov dword [0x2000 + {vec} * 8 + 4], 0x8500
"""


def interrupt_gate(vec, handler):
    return f"""
        mov eax, {handler}
        mov [0x2000 + {vec} * 8], ax
        mov word [0x2000 + {vec} * 8 + 2], 0x08
        mov word [0x2000 + {vec} * 8 + 4], 0x8E00
        shr eax, 16
        mov [0x2000 + {vec} * 8 + 6], ax
"""


def run(hvmm_cmd, tmp_path, body):
    src = tmp_path / "guest.asm"
    src.write_text(PRELUDE + body + POSTLUDE)
    out = tmp_path / "guest.bin"
    subprocess.run([NASM, "-f", "bin", "-o", str(out), str(src)], check=True)
    proc = hvmm_cmd("exec", "--protected", out, "--regs", "--stats", cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert "invalid opcode" in proc.stderr, proc.stderr
    regs = dict(item.split("=") for item in proc.stderr.split() if "=" in item)
    return {k: int(v, 16) for k, v in regs.items() if k.startswith("e")}, proc.stderr


@needs_nasm
def test_double_fault_through_a_task_gate(hvmm_cmd, tmp_path):
    """#GP with IDT vector 13 not present: #NP while delivering it, so #DF,
    whose IDT entry is a task gate to X. X finds the error code 0 on its
    stack, its back-link to A, NT set; A's TSS holds the faulting EIP."""
    regs, err = run(hvmm_cmd, tmp_path, task_gate(8) + """
        mov ax, 0xFFF8                  ; past the GDT: #GP(0xFFF8)
fault:  mov ds, ax
        hlt
x_task: pop eax                         ; the error code
        movzx ebx, word [0x3100]        ; back-link
        pushfd
        pop ecx
        and ecx, 0x4000                 ; NT
        mov edx, [0x3000 + 0x20]
        sub edx, fault                  ; A's saved EIP - the MOV's
        str si
        movzx esi, si
        mov edi, esp
        ud2
""")
    assert regs["eax"] == 0 and regs["ebx"] == 0x18 and regs["ecx"] == 0x4000
    assert regs["edx"] == 0 and regs["esi"] == 0x20 and regs["edi"] == 0x9000
    assert "task switches: 1" in err


@needs_nasm
def test_fault_after_the_commit_point_is_the_new_tasks(hvmm_cmd, tmp_path):
    """#GP through a task gate to X, whose DS is past the GDT: the #TS comes
    after the switch committed, while #GP is being delivered, so it is a
    #DF (SDM table 6-5) - taken in X: TR is X's, the frame on X's stack."""
    regs, err = run(hvmm_cmd, tmp_path, task_gate(13) + interrupt_gate(8, "df") + """
        mov dword [0x3100 + 0x54], 0xFFF0       ; X's DS
        mov ax, 0xFFF8
        mov ds, ax
        hlt
x_task: hlt
df:     pop eax                         ; the error code
        str cx
        movzx ecx, cx
        mov edx, esp                    ; EIP CS EFLAGS left of the frame
        mov ebx, [esp]
        sub ebx, x_task                 ; the saved EIP: X's first
        ud2
""")
    assert regs["eax"] == 0 and regs["ecx"] == 0x20
    assert regs["edx"] == 0x9000 - 12 and regs["ebx"] == 0
    assert "exceptions taken: #DF 1" in err and "task switches: 1" in err


def test_stats_count_task_switches(hvmm_cmd, tmp_path):
    """pm_task switches 18 times: JMP to B and back, CALL to B and IRET,
    INT to B and IRET, then two each for C (CALL through a gate), C again
    (#GP through the IDT), D, the 16-bit task, E and F."""
    proc = hvmm_cmd("exec", PM_GUESTS / "pm_task.bin", "--deliver-ud", "--stats",
                    cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "task switches: 18" in proc.stderr
