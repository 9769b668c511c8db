"""Virtual-8086 mode details beyond guests/pm/pm_v86.asm (core/v86.pxi,
SDM Vol. 3 ch. 20): POPF cannot change VM or IOPL, the I/O bitmap is
consulted at IOPL 3, 16-bit gates push a 16-bit V86 frame, a handler in a
conforming segment is #GP(selector), PUSHF traps at IOPL 0 but INT3 and
INT1 go through the IDT, LAR is #UD, IRET at IOPL 3 and far
CALL/RETF run real-mode style (a far JMP past FFFF is #GP); the mode's name
in error lines and --stats. Guests run under `hvmm exec --protected` (nasm needed).
"""

import shutil
import subprocess

import pytest

NASM = shutil.which("nasm")
pytestmark = pytest.mark.skipif(NASM is None, reason="nasm not installed")

# A ring-0 harness: its own GDT (0x08 flat code, 0x10 flat data, 0x18 the
# TSS at 0x3000 with ESP0 0x90000 and an I/O bitmap allowing only port
# 0xE9, 0x20 32-bit code based at the image (for the 16-bit gate's 16-bit
# offset), 0x28 conforming DPL-0 code), an IDT at 0x2000 whose gates all
# lead to `trap` (recording vector, error code and ESP, then back to the
# test sequence), and V86 code in the image (CS = FFFF, A20 on).
# RUN_V86 label, eflags: enter V86 at `label` and come back at the next
# instruction once a trap ends it.
HARNESS = """
    bits 32
    org 0x100000
%define V86IP(x) ((x) - 0xFFFF0)
%macro RUN_V86 2
    mov dword [next], %%back
    mov [mon_esp], esp
    push dword 0            ; GS
    push dword 0            ; FS
    push dword 0            ; DS
    push dword 0            ; ES
    push dword 0            ; SS
    push dword 0x7000       ; ESP
    push dword 0x20002 | %2 ; EFLAGS: VM
    push dword 0xFFFF       ; CS
    push dword V86IP(%1)    ; IP
    iretd
%%back:
%endmacro
%macro GATE 4               ; vector, handler offset, selector, access byte
    mov eax, %2
    mov [0x2000 + %1 * 8], ax
    mov word [0x2000 + %1 * 8 + 2], %3
    mov byte [0x2000 + %1 * 8 + 4], 0
    mov byte [0x2000 + %1 * 8 + 5], %4
    shr eax, 16
    mov [0x2000 + %1 * 8 + 6], ax
%endmacro
%macro SAY 0                ; print '1' if ZF is set, else '0'
    setz al
    add al, '0'
    out 0xE9, al
%endmacro
start:
    lgdt [gdtr]
    lidt [idtr]
    mov edi, 0x3000
    mov ecx, 0x68 + 33
    xor eax, eax
    rep stosb
    mov dword [0x3004], 0x90000
    mov dword [0x3008], 0x10
    mov word [0x3066], 0x68
    mov edi, 0x3068
    mov ecx, 33
    mov al, 0xFF
    rep stosb
    mov eax, 0xE9
    btr [0x3068], eax
    mov ax, 0x18
    ltr ax
    xor ecx, ecx
gates:
    GATE ecx, trap, 0x08, 0xEE  ; 32-bit interrupt gates, DPL 3
    inc ecx
    cmp ecx, 0x50
    jb gates
    jmp main
trap:                       ; every vector: record, then leave V86 for good
    mov [ss:trap_ds], ds
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov [trap_esp], esp
    mov eax, [esp]
    mov [trap_w0], eax
    mov eax, [esp + 4]
    mov [trap_w1], eax
    mov eax, [esp + 8]
    mov [trap_w2], eax
    mov eax, [esp + 12]
    mov [trap_w3], eax
    mov esp, [mon_esp]
    jmp [next]
trap16:                     ; the 16-bit gate's handler (in segment 0x20)
    jmp 0x08:trap
mon_esp: dd 0
next: dd 0
trap_ds: dd -1
trap_esp: dd 0
trap_w0: dd 0
trap_w1: dd 0
trap_w2: dd 0
trap_w3: dd 0
gdtr: dw gdt_end - gdt - 1
    dd gdt
idtr: dw 0x50 * 8 - 1
    dd 0x2000
    align 8
gdt: dq 0
    dq 0x00CF9A000000FFFF   ; 0x08 code
    dq 0x00CF92000000FFFF   ; 0x10 data
    dw 0x68 + 32, 0x3000, 0x8900, 0  ; 0x18 TSS
    dq 0x00CF9A100000FFFF   ; 0x20 code based at 0x100000
    dq 0x00CF9E000000FFFF   ; 0x28 conforming code
gdt_end:
"""


def run(tmp_path, hvmm_cmd, body, *args):
    src = tmp_path / "guest.asm"
    src.write_text(HARNESS + body)
    out = tmp_path / "guest.bin"
    subprocess.run([NASM, "-f", "bin", "-o", str(out), str(src)], check=True)
    proc = hvmm_cmd("exec", "--protected", out, "--deliver-ud", *args, cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    return proc


def test_v86_sensitive_instructions_and_frames(tmp_path, hvmm_cmd):
    proc = run(tmp_path, hvmm_cmd, """
main:
    ; 1-3: IOPL 3: PUSHFD's image lacks VM; POPFD cannot clear VM or IOPL
    ; (LAR after it is still V86's #UD, the frame's EFLAGS has VM)
    RUN_V86 v_popf, 0x3000
    mov eax, [0x500]
    and eax, 0x23000
    cmp eax, 0x3000
    SAY
    mov eax, [0x504]
    and eax, 0x3000
    cmp eax, 0x3000
    SAY
    cmp dword [trap_w0], v_popf.lar - 0xFFFF0
    SAY
    ; 4-6: IOPL 3: OUT to 0xE9 (allowed) prints, OUT to 0x80 (denied) is
    ; #GP(0) at the OUT: error code 0, IP of the OUT
    RUN_V86 v_out, 0x3000
    cmp dword [trap_w0], 0
    SAY
    cmp dword [trap_w1], v_out.denied - 0xFFFF0
    SAY
    cmp dword [trap_w2], 0xFFFF
    SAY
    ; 7-10: IOPL 3, INT 40h through a 16-bit gate: 9 words on the ring-0
    ; stack (IP CS FLAGS SP SS ES DS FS GS), DS null in the handler
    GATE 0x40, trap16 - 0x100000, 0x20, 0xE6
    RUN_V86 v_int40, 0x3000
    cmp dword [trap_esp], 0x90000 - 18
    SAY
    cmp word [0x90000 - 18], v_int40.after - 0xFFFF0
    SAY
    cmp word [0x90000 - 18 + 10], 0x1234   ; the V86 ES
    SAY
    cmp word [trap_ds], 0
    SAY
    ; 11-12: IOPL 3, INT 41h to a conforming DPL-0 segment: #GP(0x28)
    GATE 0x41, trap, 0x28, 0xEE
    RUN_V86 v_int41, 0x3000
    cmp dword [trap_w0], 0x28
    SAY
    cmp dword [trap_w1], v_int41 - 0xFFFF0
    SAY
    ; 13-15: IOPL 0: PUSHF is #GP(0) at its IP; INT3 and INT1 are not
    ; IOPL-sensitive: #BP and #DB through the IDT, EIP past them
    RUN_V86 v_pushf, 0
    cmp dword [trap_w1], v_pushf - 0xFFFF0
    SAY
    RUN_V86 v_int3, 0
    cmp dword [trap_w0], v_int3 + 1 - 0xFFFF0
    SAY
    RUN_V86 v_int1, 0
    cmp dword [trap_w0], v_int1 + 1 - 0xFFFF0  ; #DB: a trap, no error code
    SAY
    ; 16-19: IOPL 3: IRET runs in V86 and leaves IOPL alone; a far CALL and
    ; RETF; a far JMP with a 32-bit offset past FFFF is #GP(0) at the JMP
    RUN_V86 v_iret, 0x3000
    cmp dword [0x508], 0x3000
    SAY
    cmp dword [0x50C], 0x4321
    SAY
    cmp dword [trap_w0], 0
    SAY
    cmp dword [trap_w1], v_iret.jmp - 0xFFFF0
    SAY
    mov al, 0
    out 0xF4, al
    hlt

    bits 16
v_popf:
    pushfd
    pop eax
    mov [0x500], eax
    push dword 2
    popfd
    pushfd
    pop eax
    mov [0x504], eax
.lar: lar ax, bx
v_out:
    mov al, 'v'
    out 0xE9, al
.denied: out 0x80, al
v_int40:
    mov ax, 0x1234
    mov es, ax
    int 0x40
.after:
v_int41:
    int 0x41
v_pushf:
    pushf
v_int3:
    int3
v_int1:
    int1
v_iret:
    push word 2                 ; FLAGS image: IOPL 0
    push cs
    push word v_iret.back - 0xFFFF0
    iret
.back:
    pushfd
    pop eax
    and eax, 0x3000
    mov [0x508], eax
    call 0xFFFF:v_far - 0xFFFF0
    mov [0x50C], ebx
.jmp: jmp dword 0xFFFF:0x12345
v_far:
    mov ebx, 0x4321
    retf
""")
    assert proc.stdout == "111v" + "1" * 16, proc.stderr


def test_v86_error_line_and_stats(tmp_path, hvmm_cmd):
    """Without --deliver-ud an invalid opcode ends the run: the error line
    names v86 mode and disassembles 16-bit code; --stats counts the entry."""
    src = tmp_path / "guest.asm"
    src.write_text(HARNESS + """
main:
    RUN_V86 v_ud, 0x3000
    ud2
    bits 16
v_ud:
    mov ax, 1
    ud2
""")
    out = tmp_path / "guest.bin"
    subprocess.run([NASM, "-f", "bin", "-o", str(out), str(src)], check=True)
    proc = hvmm_cmd("exec", "--protected", out, "--stats", cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert "invalid opcode at FFFF:" in proc.stderr
    assert "v86 mode" in proc.stderr
    assert "0F 0B  ud2" in proc.stderr
    assert "v86 entries (IRET to virtual-8086 mode): 1" in proc.stderr
