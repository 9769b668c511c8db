"""`hvmm exec --protected` (flat 32-bit protected mode set up by hvmm),
error lines in the current mode, the protected-mode figures of --stats,
and the trap flag. Guests are assembled with nasm (the tests skip
without it)."""

import shutil
import subprocess

import pytest

import hvmm
from pathlib import Path

NASM = shutil.which("nasm")
PM_GUESTS = Path(hvmm.__file__).resolve().parent / "guests" / "pm"
needs_nasm = pytest.mark.skipif(NASM is None, reason="nasm not installed")


def assemble(tmp_path, source):
    src = tmp_path / "guest.asm"
    src.write_text(source)
    out = tmp_path / "guest.bin"
    subprocess.run([NASM, "-f", "bin", "-o", str(out), str(src)], check=True)
    return out


@needs_nasm
def test_protected_starts_flat_32bit(hvmm_cmd, tmp_path):
    """32-bit code at 0x100000 with the documented GDT, stack and segments;
    it reads its own selectors and the GDT's location back."""
    guest = assemble(tmp_path, """
        bits 32
        org 0x100000
        mov eax, cs
        mov ebx, ss
        mov ecx, esp
        sgdt [gdt_image]
        mov edx, [gdt_image + 2]
        movzx esi, word [gdt_image]
        mov edi, [0x1000 + 8 + 4]       ; the code descriptor's upper dword
        mov eax, eax
        out 0xE9, al                    ; CS low byte: 0x08
        ud2
    gdt_image: dd 0, 0
    """)
    proc = hvmm_cmd("exec", "--protected", guest, "--regs", cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == "\x08"
    assert "invalid opcode at 0008:" in proc.stderr
    assert "32-bit protected mode" in proc.stderr
    assert "0F 0B  ud2" in proc.stderr
    regs = dict(item.split("=") for item in proc.stderr.split() if "=" in item)
    assert regs["ebx"] == "00000010" and regs["ecx"] == "00100000"
    assert regs["edx"] == "00001000" and regs["esi"] == "00000017"
    assert regs["edi"] == "00CF9B00"
    assert regs["ds"] == "0010" and regs["cs"] == "0008"


def test_protected_needs_a_386(hvmm_cmd, tmp_path):
    image = tmp_path / "x.bin"
    image.write_bytes(b"\xf4")
    proc = hvmm_cmd("exec", "--protected", "--cpu", "8086", image, cwd=tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.startswith("hvmm: ") and "Traceback" not in proc.stderr


def test_stats_count_exceptions_and_mode_switches(hvmm_cmd, tmp_path):
    """pm_exceptions takes each exception of its checks once or more; it
    enters protected mode once."""
    proc = hvmm_cmd("exec", PM_GUESTS / "pm_exceptions.bin", "--deliver-ud", "--stats",
                    cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("exceptions taken: "))
    taken = dict(item.rsplit(" ", 1) for item in line[len("exceptions taken: "):].split(", "))
    assert taken["#DE"] == "1" and taken["#UD"] == "2" and taken["#DF"] == "1"
    assert taken["#TS"] == "1" and taken["#SS"] == "1"
    assert int(taken["#GP"]) >= 8 and int(taken["#NP"]) >= 2
    assert "mode switches (CR0.PE changes): 1" in proc.stderr


@needs_nasm
def test_trap_flag_steps_each_instruction(hvmm_cmd, tmp_path):
    """TF set by POPF: a #DB after each following instruction (the POPF that
    clears TF included) with EIP past it and DR6.BS; none after MOV SS
    until the next instruction; the handler is not stepped. The guest
    prints the number of traps, then 1 or 0 for each saved EIP against the
    expected one, then DR6.BS."""
    guest = assemble(tmp_path, """
        bits 32
        org 0x100000
        lidt [idtr]
        mov eax, handler                ; IDT vector 1: 32-bit interrupt gate
        mov [0x2000 + 8], ax
        mov word [0x2000 + 10], 0x08
        mov word [0x2000 + 12], 0x8E00
        shr eax, 16
        mov [0x2000 + 14], ax
        pushfd
        or dword [esp], 0x100
        popfd
    s1: nop
    s2: mov ax, ss
    s3: mov ss, ax
    s4: nop
    s5: pushfd
    s6: and dword [esp], ~0x100
    s7: popfd
    s8: mov eax, [count]
        add al, '0'
        out 0xE9, al
        xor ecx, ecx
    dump:
        mov eax, [log + ecx * 4]
        cmp eax, [expected + ecx * 4]
        sete al
        add al, '0'
        out 0xE9, al
        inc ecx
        cmp ecx, [count]
        jb dump
        mov eax, dr6
        shr eax, 14
        and al, 1
        add al, '0'
        out 0xE9, al
        ud2
    handler:
        push eax
        push ecx
        mov ecx, [count]
        mov eax, [esp + 8]
        mov [log + ecx * 4], eax
        inc dword [count]
        pop ecx
        pop eax
        iretd
    idtr: dw 0x0F
          dd 0x2000
    expected: dd s2, s3, s5, s6, s7, s8
    count: dd 0
    log: times 16 dd 0
    """)
    proc = hvmm_cmd("exec", "--protected", guest, cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == "6" + "111111" + "1", proc.stderr


@needs_nasm
@pytest.mark.parametrize("entry", ["jmp", "call", "retf"])
def test_far_transfer_from_16bit_code_keeps_the_whole_32bit_eip(hvmm_cmd, tmp_path, entry):
    """Linux's setup code enters its 32-bit kernel with `jmp dword 0x10:0x93B6A`
    from 16-bit code: the new EIP is above 64 KiB and must not be cut to 16
    bits by the 16-bit code it leaves. The 32-bit code is copied to 0x12340."""
    transfer = {
        "jmp": "jmp dword 0x08:0x12340",
        "call": "call dword 0x08:0x12340",
        "retf": "push dword 0x08\n push dword 0x12340\n o32 retf",
    }[entry]
    guest = assemble(tmp_path, f"""
        bits 16
        org 0x7C00
        cli
        xor ax, ax
        mov ds, ax
        mov ax, 0x1234
        mov es, ax
        mov si, code32
        xor di, di
        mov cx, code32_end - code32
        rep movsb                       ; to 1234:0000 = linear 0x12340
        lgdt [gdtr]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        {transfer}
    code32:
        bits 32
        mov ax, 0x10
        mov ds, ax
        call here
    here:
        pop eax                         ; the linear address of `here`
        sub eax, here - code32
        mov dx, 0xE9
        shr eax, 16
        out dx, al                      ; 0x01 when EIP was kept
        hlt
    code32_end:
        bits 16
    align 8
    gdt: dq 0
        dq 0x00CF9A000000FFFF           ; 0x08: flat 32-bit code
        dq 0x00CF92000000FFFF           ; 0x10: flat data
    gdtr: dw gdtr - gdt - 1
        dd gdt
    """)
    proc = hvmm_cmd("exec", guest, "--max-instructions", "10000", cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == "\x01", proc.stderr
    assert proc.returncode == 0, proc.stderr


def _tlb_line(stderr):
    line = next(ln for ln in stderr.splitlines() if ln.startswith("TLB: "))
    misses, flushes, invlpgs = line[len("TLB: "):].split(", ")
    return int(misses.split()[0]), int(flushes.split()[0]), int(invlpgs.split()[0])


@needs_nasm
def test_stats_count_tlb_misses_and_flushes(hvmm_cmd, tmp_path):
    """Paging on through one 4 MiB page: each distinct 4 KiB page touched
    is one TLB miss, each CR3 load one flush (and one more miss: the code
    page is fetched again after it). Two runs differing by 16 pages
    touched, 3 CR3 loads and 4 INVLPGs differ by exactly that (an INVLPG
    is no flush, and the page it drops is missed again when touched)."""
    def run(pages, cr3_loads, invlpgs):
        guest = assemble(tmp_path, f"""
            bits 32
            org 0x100000
            mov dword [0x2000], 0x83    ; PDE 0: a 4 MiB page at 0, present, writable
            mov eax, cr4
            or eax, 0x10                ; PSE
            mov cr4, eax
            mov eax, 0x2000
            mov cr3, eax
            mov eax, cr0
            or eax, 0x80000000
            mov cr0, eax
            mov ecx, {pages}
            mov ebx, 0x200000
        touch:
            mov [ebx], cl
            add ebx, 0x1000
            loop touch
            mov eax, 0x2000
            times {cr3_loads} mov cr3, eax
            %rep {invlpgs}
            invlpg [0x200000]
            mov [0x200000], cl
            %endrep
            cli
            hlt
            """)
        proc = hvmm_cmd("exec", "--protected", guest, "--stats", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return _tlb_line(proc.stderr)
    m1, f1, i1 = run(16, 2, 1)
    m2, f2, i2 = run(32, 5, 5)
    assert (m2 - m1, f2 - f1, i2 - i1) == (16 + 3 + 4, 3, 4)
