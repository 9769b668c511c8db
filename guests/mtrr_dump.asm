; mtrr_dump: a boot sector that prints the MTRRs the BIOS left, to port 0xE9.
;
; One line per MSR, `MSR nnn hhhhhhhh:llllllll` (number, high and low dword
; in hex): MTRRCAP (0FEh), MTRR_DEF_TYPE (2FFh), the fixed ranges (250h,
; 258h, 259h, 268h-26Fh), PHYSBASE/PHYSMASK 0-7 (200h-20Fh); then `CR0
; xxxxxxxx` and `END`. Where CPUID (leaf 1 EDX bits 5 and 12) has no MSRs or
; MTRRs, or there is no CPUID, the one line `no MTRRs` and `END`. Exits
; through port 0xF4 with 0. Boots unchanged on QEMU (tests/test_mtrr.py
; compares with SeaBIOS there).

        cpu     8086
        bits    16
        org     0x7C00

%include "bootsector.inc"

start:
        BOOT_PROLOGUE cli
        ; 8086/286: FLAGS bits 12-15 behave otherwise; no CPUID either way.
        pushf
        pop     ax
        or      ax, 0x7000
        push    ax
        popf
        pushf
        pop     ax
        test    ax, 0x7000
        jz      .none
        test    ax, 0x8000
        jnz     .none
        cpu     686
        pushfd                          ; CPUID: EFLAGS.ID toggles
        pop     eax
        mov     ecx, eax
        xor     eax, 0x200000
        push    eax
        popfd
        pushfd
        pop     eax
        xor     eax, ecx
        test    eax, 0x200000
        jz      .none
        mov     eax, 1
        cpuid
        and     edx, (1 << 5) | (1 << 12)
        cmp     edx, (1 << 5) | (1 << 12)
        jne     .none
        mov     si, msrs
.msr:   lodsw
        test    ax, ax
        jz      .cr0
        movzx   ecx, ax
        push    ecx
        mov     bx, msg_msr
        call    print
        mov     eax, ecx
        mov     cl, 3
        call    hex
        mov     al, ' '
        out     0xE9, al
        pop     ecx
        rdmsr
        push    eax
        mov     eax, edx
        mov     cl, 8
        call    hex
        mov     al, ':'
        out     0xE9, al
        pop     eax
        mov     cl, 8
        call    hex
        call    newline
        jmp     .msr
.cr0:   mov     bx, msg_cr0
        call    print
        mov     eax, cr0
        mov     cl, 8
        call    hex
        call    newline
        jmp     .end
.none:  mov     bx, msg_none
        call    print
.end:   mov     bx, msg_end
        call    print
        xor     al, al
        out     0xF4, al
.halt:  cli
        hlt
        jmp     .halt

; hex: the low CL hex digits of EAX to port 0xE9.
hex:    push    eax
        mov     ch, cl
        shl     cl, 2
        ror     eax, cl                 ; the digits wanted to the top
        mov     cl, ch
.digit: rol     eax, 4
        push    eax
        and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .out
        add     al, 'A' - '9' - 1
.out:   out     0xE9, al
        pop     eax
        dec     cl
        jnz     .digit
        pop     eax
        ret

        cpu     8086
newline:
        mov     al, 10
        out     0xE9, al
        ret

; print: the NUL-terminated string at DS:BX to port 0xE9.
print:  mov     al, [bx]
        test    al, al
        jz      .done
        out     0xE9, al
        inc     bx
        jmp     print
.done:  ret

msrs:   dw      0xFE, 0x2FF, 0x250, 0x258, 0x259
        dw      0x268, 0x269, 0x26A, 0x26B, 0x26C, 0x26D, 0x26E, 0x26F
        dw      0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207
        dw      0x208, 0x209, 0x20A, 0x20B, 0x20C, 0x20D, 0x20E, 0x20F
        dw      0

msg_msr:  db "MSR ", 0
msg_cr0:  db "CR0 ", 0
msg_none: db "no MTRRs", 10, 0
msg_end:  db "END", 10, 0

        BOOT_SIGNATURE
