"""The debug registers (core/debugreg.pxi) beyond guests/pm/pm_singlestep:
a data breakpoint hit inside REP STOSB (the trap comes after the
iteration, EIP still on the REP, ECX counting what is left), DR7.GD
(general detect), one #DB for a data breakpoint and the trap flag
together, and breakpoints kept across a snapshot. Guests run under
`hvmm exec --protected` (nasm needed)."""

import shutil
import subprocess

import pytest

from hvmm import Cpu

NASM = shutil.which("nasm")

# A #DB handler at vector 1 logging EIP, ECX and DR6, then clearing DR6,
# DR7 and the frame's TF. CHECK: print '1' if ZF is set, else '0'.
HARNESS = """
    bits 32
    org 0x100000
%macro CHECK 0
    setz al
    add al, '0'
    out 0xE9, al
%endmacro
    mov eax, handler
    mov [0x2008], ax
    mov word [0x200A], 0x08
    mov word [0x200C], 0x8E00
    shr eax, 16
    mov [0x200E], ax
    lidt [idtr]
    jmp main
handler:
    push eax
    push ebx
    mov ebx, [count]
    mov eax, [esp + 8]
    mov [log_eip + ebx * 4], eax
    mov [log_ecx + ebx * 4], ecx
    mov eax, dr6
    mov [log_dr6 + ebx * 4], eax
    inc dword [count]
    xor eax, eax
    mov dr6, eax
    mov dr7, eax
    and dword [esp + 16], ~0x100
    pop ebx
    pop eax
    iretd
idtr: dw 0x0F
    dd 0x2000
count: dd 0
log_eip: times 8 dd 0
log_ecx: times 8 dd 0
log_dr6: times 8 dd 0
buf: times 16 db 0
watched: dd 0
"""


@pytest.mark.skipif(NASM is None, reason="nasm not installed")
def test_data_breakpoints_rep_gd_and_tf(tmp_path, hvmm_cmd):
    src = tmp_path / "guest.asm"
    src.write_text(HARNESS + """
main:
    ; 1-4: REP STOSB writes buf[5] in its sixth iteration: #DB with EIP on
    ; the REP, ECX 10, DR6.B0; then the REP runs to its end
    mov eax, buf + 5
    mov dr0, eax
    mov eax, 0x00010001         ; L0, write, 1 byte
    mov dr7, eax
    mov edi, buf
    mov ecx, 16
    mov al, 0xAA
    cld
r1: rep stosb
    cmp dword [log_eip], r1
    CHECK
    cmp dword [log_ecx], 10
    CHECK
    mov eax, [log_dr6]
    and eax, 0x400F
    cmp eax, 1
    CHECK
    cmp ecx, 0
    CHECK
    ; 5-6: DR7.GD: MOV from DR0 is a #DB fault with DR6.BD; GD is cleared
    ; for the handler, and the MOV then runs
    mov dword [count], 0
    mov eax, 0x2000
    mov dr7, eax
g1: mov eax, dr0
    cmp dword [log_eip], g1
    CHECK
    mov eax, [log_dr6]
    and eax, 0x2000
    cmp eax, 0x2000
    CHECK
    ; 7-9: a data breakpoint under the trap flag: one #DB, BS and B1
    mov dword [count], 0
    mov eax, watched
    mov dr1, eax
    mov eax, 0x00D00004         ; L1, write, 4 bytes
    mov dr7, eax
    pushfd
    or dword [esp], 0x100
    popfd
t1: mov [watched], eax
t2: nop
    cmp dword [count], 1
    CHECK
    cmp dword [log_eip], t2
    CHECK
    mov eax, [log_dr6]
    and eax, 0x400F
    cmp eax, 0x4002
    CHECK
    ud2
""")
    out = tmp_path / "guest.bin"
    subprocess.run([NASM, "-f", "bin", "-o", str(out), str(src)], check=True)
    proc = hvmm_cmd("exec", "--protected", out, cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == "1" * 9, proc.stderr


def test_breakpoints_survive_a_snapshot():
    """set_cpu_state recomputes DR7's summary: a write breakpoint set in
    the saved state fires after the state is loaded into a fresh CPU."""
    code = bytes([
        0xC7, 0x06, 0x00, 0x05, 0x34, 0x12,     # mov word [0x500], 0x1234
        0x90,                                   # nop
    ])
    cpu = Cpu(memory_size=1 << 20, model="386")
    cpu.memory[0x7C00:0x7C00 + len(code)] = code
    cpu.memory[0x04:0x08] = bytes([0x00, 0x7D, 0x00, 0x00])  # IVT 1 -> 0000:7D00
    cpu.cs = cpu.ds = cpu.ss = 0
    cpu.ip = 0x7C00
    cpu.sp = 0x7000
    state = cpu.get_cpu_state()
    state["dr"][0] = 0x500
    state["dr"][7] = 0x00050001                 # L0, write, 2 bytes
    other = Cpu(memory_size=1 << 20, model="386")
    other.memory[:] = cpu.memory
    other.set_cpu_state(state)
    other.run(1)                                # the MOV, then #DB (real mode: the IVT)
    assert other.exceptions_delivered >= 1 and other.last_exception == 1
    assert other.ip == 0x7D00                   # at the handler
    assert other.memory[0x500:0x502] == b"\x34\x12"   # a trap: the write is done
    assert other.get_cpu_state()["dr"][6] & 0xF == 1
