; pm_exceptions.asm - descriptor loads and exceptions in 32-bit protected mode.
;
; Every vector 00h-5Fh has an IDT stub that records the vector, error code
; and saved EIP.  The guest provokes #DE #DB(INT1) #BP #OF #BR #UD #NM #DF
; #TS #NP #SS #GP and checks each vector, error code (selector error codes
; with the TI and IDT bits) and saved EIP: at the faulting instruction
; ("at +0", its first byte, prefixes included) for faults, after it for
; traps.  #DE and #NP are also restarted: the handler removes the cause and
; returns to the same instruction, which then completes.  The checks made on
; each data and stack access (limits, rights, null selectors), which QEMU's
; TCG does not model, are in pm_limits.asm.

%define GUEST_NAME "pm_exceptions"

SEL_NP_DATA     equ     SEL_GUEST + 0x00 ; data, not present
SEL_RO_DATA     equ     SEL_GUEST + 0x08 ; data, read-only
SEL_4K_DATA     equ     SEL_GUEST + 0x10 ; data, limit 0xFFF
SEL_DOWN_DATA   equ     SEL_GUEST + 0x18 ; data, expand-down, limit 0xFFF
SEL_XO_CODE     equ     SEL_GUEST + 0x20 ; code, execute-only
SEL_64K_STACK   equ     SEL_GUEST + 0x28 ; data, limit 0xFFFF, B=1
SEL_NP_STACK    equ     SEL_GUEST + 0x30 ; data, not present
SEL_DPL3_DATA   equ     SEL_GUEST + 0x38 ; data, DPL 3
SEL_SHORT_TSS   equ     SEL_GUEST + 0x40 ; 32-bit TSS, limit 0x20 (< 0x67)
SEL_PAST_GDT    equ     0x1000           ; beyond the GDT's limit
SEL_LDT_1       equ     0x000C           ; index 1 of the LDT (none loaded)

%macro GUEST_GDT 0
        DESC    0, 0xFFFFF, 0x12, 0xC
        DESC    0, 0xFFFFF, 0x90, 0xC
        DESC    0, 0xFFF, 0x92, 0x4
        DESC    0, 0xFFF, 0x96, 0x4
        DESC    0, 0xFFFFF, 0x98, 0xC
        DESC    0, 0xFFFF, 0x92, 0x4
        DESC    0, 0xFFFF, 0x12, 0x4
        DESC    0, 0xFFFFF, 0xF2, 0xC
        DESC    TSS0 + 0x100, 0x20, 0x89, 0x0
%endmacro

%macro LOAD 2                           ; segment register, selector
        mov     ax, %2
        mov     %1, ax
%endmacro

%include "pm.inc"

main32:
        call    init_tss

; ---- #DE, restarted by a handler that makes the divisor 2
        mov     dword [exc_hook], fix_divisor
        mov     eax, 100
        xor     edx, edx
        xor     ecx, ecx
        EXPECT  .de_r
.de:    div     ecx
.de_r:  mov     dword [exc_hook], 0
        CHECK_EXC 0, 0, .de, 0, "div by zero"
        CHECK   eax, 50, "div restarted after #DE, quotient"

; ---- traps: INT1 (ICEBP), INT3, INT 3, INTO; they return after the instruction
        EXPECT  1
.db:    int     1
        CHECK_EXC 1, 0, .db, 2, "int 1 (CD 01)"
        EXPECT  1
.bp:    int3
        CHECK_EXC 3, 0, .bp, 1, "int3"
        EXPECT  1
.bp2:   int     3
        CHECK_EXC 3, 0, .bp2, 2, "int 3 (CD 03)"
        mov     al, 0x7F
        add     al, 1                   ; OF=1
        EXPECT  1
.of:    into
        CHECK_EXC 4, 0, .of, 1, "into with OF=1"
        mov     ebx, [exc_count]
        xor     eax, eax                ; OF=0: no exception
        into
        CHECK   [exc_count], ebx, "into with OF=0 raises nothing: exceptions"

; ---- faults: BOUND, invalid opcodes, instruction too long, #NM
        mov     eax, 11
        EXPECT  .br_r
.br:    bound   eax, [bounds]
.br_r:  CHECK_EXC 5, 0, .br, 0, "bound 11 outside [2, 10]"
        mov     ebx, [exc_count]
        mov     eax, 10
        bound   eax, [bounds]
        CHECK   [exc_count], ebx, "bound 10 inside [2, 10]: exceptions"
        EXPECT  .ud_r
.ud:    ud2
.ud_r:  CHECK_EXC 6, 0, .ud, 0, "ud2"
        EXPECT  .ud2_r
.ud2:   db      0x8E, 0xC8              ; mov cs, ax
.ud2_r: CHECK_EXC 6, 0, .ud2, 0, "mov cs, ax"
        EXPECT  .long_r
.long:  times 15 db 0x66                ; 16 bytes: one too many
        nop
.long_r: CHECK_EXC 13, 0, .long, 0, "16-byte instruction"
        mov     eax, cr0
        or      al, 0x08                ; CR0.TS
        mov     cr0, eax
        EXPECT  .nm_r
.nm:    fninit
.nm_r:  clts
        CHECK_EXC 7, 0, .nm, 0, "fninit with CR0.TS=1"

; ---- segment loads with a selector error code
        EXPECT  .np_r
.np:    LOAD    ds, SEL_NP_DATA
.np_r:  CHECK_EXC 11, SEL_NP_DATA, .np + 4, 0, "mov ds, not-present data"
        mov     dword [exc_hook], make_present
        mov     ebx, [exc_count]
.np2:   LOAD    ds, SEL_NP_DATA
        mov     cx, ds
        movzx   ecx, cx
        LOAD    ds, SEL_DATA32
        and     byte [gdt + SEL_NP_DATA + 5], 0x7F
        mov     dword [exc_hook], 0
        inc     ebx
        CHECK   [exc_count], ebx, "mov ds restarted after #NP marks it present: exceptions"
        CHECK   ecx, SEL_NP_DATA, "DS after the restart"
        EXPECT  .ss_r
.ss:    LOAD    ss, SEL_NP_STACK
.ss_r:  CHECK_EXC 12, SEL_NP_STACK, .ss + 4, 0, "mov ss, not-present data"
        EXPECT  .gp1_r
.gp1:   LOAD    ss, 0
.gp1_r: CHECK_EXC 13, 0, .gp1 + 4, 0, "mov ss, null selector"
        EXPECT  .gp2_r
.gp2:   LOAD    ss, SEL_RO_DATA
.gp2_r: CHECK_EXC 13, SEL_RO_DATA, .gp2 + 4, 0, "mov ss, read-only data"
        EXPECT  .gp3_r
.gp3:   LOAD    ss, SEL_DPL3_DATA
.gp3_r: CHECK_EXC 13, SEL_DPL3_DATA, .gp3 + 4, 0, "mov ss, DPL 3 data at CPL 0"
        EXPECT  .gp4_r
.gp4:   LOAD    ds, SEL_XO_CODE
.gp4_r: CHECK_EXC 13, SEL_XO_CODE, .gp4 + 4, 0, "mov ds, execute-only code"
        EXPECT  .gp5_r
.gp5:   LOAD    ds, SEL_PAST_GDT
.gp5_r: CHECK_EXC 13, SEL_PAST_GDT, .gp5 + 4, 0, "mov ds, selector past the GDT limit"
        xor     eax, eax
        lldt    ax                      ; LDTR null (at reset it is base 0, limit 0xFFFF)
        EXPECT  .gp6_r
.gp6:   LOAD    es, SEL_LDT_1
.gp6_r: CHECK_EXC 13, SEL_LDT_1, .gp6 + 4, 0, "mov es, LDT selector with no LDT"
        mov     ebx, [exc_count]
        LOAD    fs, SEL_RO_DATA         ; loads that must not fault
        LOAD    gs, 0
        LOAD    fs, SEL_DPL3_DATA
        CHECK   [exc_count], ebx, "valid loads of FS and GS raise nothing: exceptions"

; ---- the IDT: limit, not-present gate, #DF, #TS
        EXPECT  .gp13_r
.gp13:  int     IDT_VECTORS + 0x10
.gp13_r: CHECK_EXC 13, (IDT_VECTORS + 0x10) * 8 + 2, .gp13, 0, "int past the IDT limit"
        and     byte [IDT_BASE + 0x50 * 8 + 5], 0x7F
        EXPECT  .np3_r
.np3:   int     0x50
.np3_r: CHECK_EXC 11, 0x50 * 8 + 2, .np3, 0, "int 0x50, gate not present"
        and     byte [IDT_BASE + 11 * 8 + 5], 0x7F
        EXPECT  .df_r
        LOAD    ds, SEL_NP_DATA         ; #NP through a missing #NP gate
.df_r:  LOAD    ds, SEL_DATA32
        or      byte [IDT_BASE + 11 * 8 + 5], 0x80
        CHECK_EXC 8, 0, 0, 0, "#NP while delivering #NP: double fault"
        EXPECT  .ts_r
.ts:    jmp     SEL_SHORT_TSS:0
.ts_r:  CHECK_EXC 10, SEL_SHORT_TSS, .ts, 0, "jmp to a TSS with limit 0x20"

        jmp     finish

; #DE hook: make the divisor 2 and restart the DIV.
fix_divisor:
        xor     eax, eax
        cmp     dword [ebp + F_VEC], 0
        jne     .done
        mov     dword [ebp + F_ECX], 2
        inc     eax
.done:
        ret

; #NP hook: mark the descriptor of the error code's selector present and
; restart the load.
make_present:
        xor     eax, eax
        cmp     dword [ebp + F_VEC], 11
        jne     .done
        mov     eax, [ebp + F_ERR]
        and     eax, 0xFFF8
        or      byte [gdt + eax + 5], 0x80
        mov     eax, 1
.done:
        ret

bounds: dd      2, 10

%include "pm_end.inc"
