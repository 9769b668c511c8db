; pm_switch.asm - mode switches: real mode -> 32-bit flat protected mode ->
; 16-bit protected-mode segments -> real mode with the segment caches kept
; ("unreal" mode) -> 32-bit protected mode, where the observations made on
; the way are checked and reported.
;
; Checked: CR0.PE/PG in each mode; CR0 bits MP EM TS NE WP AM CD written
; and read back (the #GP for invalid CR0 values is in pm_strict.asm); the code segment's D bit choosing the default operand size (the same
; bytes, B8 78 56 34 12 C3, run as `mov eax, 0x12345678; ret` in a 32-bit
; segment and as `mov ax, 0x5678; xor al, 0x12; ret` in a 16-bit one) and
; the push size; SS.B choosing SP or ESP; a 16-bit data segment with a
; non-zero base; the selectors and caches kept when PE is cleared (a 4 GiB
; FS limit still usable in real mode, even after FS is reloaded there);
; real-mode interrupts through the IVT after LIDT back to base 0.

%define GUEST_NAME "pm_switch"
%define REAL_MAIN

SEL_DATA16_2M   equ     SEL_GUEST       ; 16-bit data, base 0x20000
UNREAL_ADDR     equ     0x00200000      ; 2 MiB: beyond real mode's reach
REAL_VECTOR     equ     0x60

%macro GUEST_GDT 0
        DESC    0x20000, 0xFFFF, 0x92, 0x0
%endmacro

%include "pm.inc"

        bits    16
real_main:
        mov     eax, cr0
        and     eax, 0x80000001
        mov     [cr0_real], eax
        ENTER_PM32 pm32

        bits    32
pm32:
        mov     eax, cr0
        and     eax, 0x80000001
        mov     [cr0_pm], eax
        mov     eax, 0xAAAA0000
        call    dsize_probe
        mov     [probe32], eax
        mov     ecx, esp
        db      0x50                    ; push eax
        sub     ecx, esp
        mov     [push32], ecx
        pop     eax

; ---- CR0 bits, from a known state: PE only of PE MP EM TS NE WP AM NW CD
        mov     ebx, cr0
        and     ebx, ~0x6005002E
        mov     cr0, ebx
        mov     eax, ebx
        or      eax, 0x0005002E         ; MP EM TS NE WP AM
        mov     cr0, eax
        mov     eax, cr0
        and     eax, 0x6005002F
        mov     [cr0_set], eax
        mov     cr0, ebx
        mov     eax, cr0
        and     eax, 0x6005002F
        mov     [cr0_back], eax
        lea     eax, [ebx + 0x40000000] ; CD
        mov     cr0, eax
        mov     eax, cr0
        and     eax, 0x6005002F
        mov     [cr0_cd], eax
        mov     cr0, ebx
        CHECK   [cr0_real], 0, "real mode: CR0 & (PG|PE)"
        CHECK   [cr0_pm], 1, "32-bit protected mode: CR0 & (PG|PE)"
        CHECK   [cr0_set], 0x0005002F, "CR0 & 0x6005002F after setting MP EM TS NE WP AM"
        CHECK   [cr0_back], 0x00000001, "CR0 & 0x6005002F after clearing them"
        CHECK   [cr0_cd], 0x40000001, "CR0 & 0x6005002F after setting CD"
        CHECK   [probe32], 0x12345678, "32-bit code segment (D=1): B8 78 56 34 12 is mov eax"
        CHECK   [push32], 4, "32-bit code segment: push eax moves ESP by"

; ---- 16-bit protected mode
        mov     ax, SEL_DATA16
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        jmp     SEL_CODE16:pm16
        bits    16
pm16:
        mov     eax, 0xAAAA0000
        call    dsize_probe
        mov     [probe16], eax
        mov     ecx, esp
        db      0x50                    ; push ax
        sub     ecx, esp
        mov     [push16], ecx
        pop     ax
        mov     edx, esp
        mov     esp, 0x00017C00         ; SS.B=0: push uses SP only
        mov     ax, 0x5A17
        push    ax
        mov     [esp16], esp
        mov     ax, [0x7BFE]
        mov     [pushed16], ax
        mov     esp, edx
        mov     ax, SEL_DATA16_2M
        mov     es, ax
        mov     word [es:0x0010], 0xBEEF ; linear 0x20010
        mov     ax, SEL_DATA32          ; FS, GS: 4 GiB limits for unreal mode
        mov     fs, ax
        mov     gs, ax
        mov     ax, SEL_DATA16
        mov     es, ax
        mov     eax, cr0                ; back to real mode
        and     al, 0xFE
        mov     cr0, eax
        jmp     0x0000:real_again

real_again:
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        lidt    [real_idtr]
        mov     eax, cr0
        and     eax, 0x80000001
        mov     [cr0_real2], eax
        mov     [fs_real], fs
        mov     dword [fs:dword UNREAL_ADDR], 0x5A5A1234 ; unreal: FS limit 4 GiB
        xor     ax, ax
        mov     fs, ax                  ; real-mode load: base 0, limit kept
        mov     eax, [fs:dword UNREAL_ADDR]
        mov     [unreal_read], eax
        mov     word [REAL_VECTOR * 4], real_handler
        mov     word [REAL_VECTOR * 4 + 2], 0
        mov     ax, 0x1111
        int     REAL_VECTOR
        mov     [real_int], ax
        ENTER_PM32 report

        bits    32
report:
        CHECK   [probe16], 0xAAAA566A, "16-bit code segment (D=0): B8 78 56 34 12 is mov ax; xor al"
        CHECK   [push16], 2, "16-bit code segment: push ax moves ESP by"
        CHECK   [esp16], 0x00017BFE, "SS.B=0: push changes SP only, ESP"
        movzx   eax, word [pushed16]
        CHECK   eax, 0x5A17, "SS.B=0: the word pushed at SS:SP"
        movzx   eax, word [0x20010]
        CHECK   eax, 0xBEEF, "16-bit data segment with base 0x20000: word at linear 0x20010"
        CHECK   [cr0_real2], 0, "real mode again: CR0 & (PG|PE)"
        movzx   eax, word [fs_real]
        CHECK   eax, SEL_DATA32, "real mode again: FS still holds the selector"
        CHECK   [unreal_read], 0x5A5A1234, "unreal mode: FS read at 2 MiB"
        CHECK   [UNREAL_ADDR], 0x5A5A1234, "the unreal write went to linear 2 MiB"
        movzx   eax, word [real_int]
        CHECK   eax, 0x2222, "real-mode int 0x60 through the IVT after lidt base 0"
        jmp     finish

; B8 78 56 34 12 C3: `mov eax, 0x12345678; ret` in a 32-bit code segment,
; `mov ax, 0x5678; xor al, 0x12; ret` in a 16-bit one.
dsize_probe:
        db      0xB8, 0x78, 0x56, 0x34, 0x12, 0xC3

        bits    16
real_handler:
        add     ax, 0x1111
        iret

real_idtr:      dw      0x3FF
                dd      0
cr0_real:       dd      0
cr0_pm:         dd      0
cr0_set:        dd      0
cr0_back:       dd      0
cr0_cd:         dd      0
cr0_real2:      dd      0
probe32:        dd      0
probe16:        dd      0
push32:         dd      0
push16:         dd      0
esp16:          dd      0
pushed16:       dd      0
fs_real:        dd      0
unreal_read:    dd      0
real_int:       dd      0

%include "pm_end.inc"
