; pm_task.asm - hardware task switches between two 32-bit TSSs: LTR and STR,
; JMP to a TSS (busy bits moved, no back-link, NT clear), JMP back (the
; registers saved in and restored from the old TSS), CALL to a TSS (NT set,
; back-link written, both busy) and IRET with NT back, INT through a task
; gate, CR0.TS set by every switch, #GP for a CALL to a busy task; then
; CALL through a GDT task gate (#GP for one to the busy task), #GP
; delivered through an IDT task gate with its error code on the new task's
; stack, CR3 and LDTR from the TSS under paging, a 16-bit TSS, a ring-3
; task with its own I/O bitmap, #TS for a TSS limit below 67h and for a
; bad selector in the new TSS (raised in the new task). (That #TS's saved
; EIP and the T bit are pm_strict's checks: QEMU differs.)
;
; Task A uses TSS0 (selector 0x38), task B TSS_B (0x40) at 0x2200; the
; others TSS_C ... TSS_SHORT at 0x2300-0x26FF, stacks 0x3200-0x4400, page
; tables 0x10000-0x13FFF, marker pages 0x20000 and 0x21000.

%define GUEST_NAME "pm_task"

TSS_B           equ     0x2200
SEL_TSS_B       equ     SEL_GUEST
TASK_B_STACK    equ     0x4800
VEC_TASK_GATE   equ     0x50

TSS_C           equ     0x2300          ; CALL through a gate; #GP's task
TSS_D           equ     0x2380          ; CR3 and LDT from its TSS
LDT_D           equ     0x2400
TSS_16          equ     0x2480          ; a 16-bit TSS
TSS_E           equ     0x2500          ; ring 3, its own I/O bitmap
TSS_F           equ     0x2600          ; a DS selector past the GDT
TSS_SHORT       equ     0x2680          ; limit 66h
TSS_E_LIMIT     equ     TSS_IOMAP + 32
SEL_GATE_C      equ     SEL_GUEST + 0x08
SEL_TSS_C       equ     SEL_GUEST + 0x10
SEL_TSS_D       equ     SEL_GUEST + 0x18
SEL_LDT_D       equ     SEL_GUEST + 0x20
SEL_TSS_16      equ     SEL_GUEST + 0x28
SEL_TSS_E       equ     SEL_GUEST + 0x30
SEL_TSS_F       equ     SEL_GUEST + 0x38
SEL_TSS_SHORT   equ     SEL_GUEST + 0x40
SEL_LDT_DATA    equ     0x04            ; LDT_D entry 0 (TI = 1)
BAD_SEL         equ     0xFFF8          ; past the GDT's limit
STACK_C         equ     0x4400
STACK_D         equ     0x4000
STACK_16        equ     0x3C00
STACK_E3        equ     0x3800          ; task E, ring 3
STACK_E0        equ     0x3400          ; task E, ring 0 (its TSS's SS0:ESP0)
STACK_F         equ     0x3200
PD_A            equ     0x10000         ; task A: identity mapped 0-4 MiB
PT_A            equ     0x11000
PD_D            equ     0x12000         ; task D: the same but page 0x20000
PT_D            equ     0x13000         ;   maps 0x21000
MARK_A          equ     0x20000
MARK_D          equ     0x21000

%macro GUEST_GDT 0
        DESC    TSS_B, 0x67, 0x89, 0x0
        dw      0, SEL_TSS_C, 0x8500, 0         ; 0x48 task gate -> TSS_C
        DESC    TSS_C, 0x67, 0x89, 0x0
        DESC    TSS_D, 0x67, 0x89, 0x0
        DESC    LDT_D, 0x07, 0x82, 0x0          ; 0x60 LDT
        DESC    TSS_16, 0x2B, 0x81, 0x0         ; 0x68 16-bit TSS
        DESC    TSS_E, TSS_E_LIMIT, 0x89, 0x0
        DESC    TSS_F, 0x67, 0x89, 0x0
        DESC    TSS_SHORT, 0x66, 0x89, 0x0      ; 0x80 too short
%endmacro

; EAX = the type field (low nibble of the access byte) of GDT entry %1.
%macro DESC_TYPE 1
        movzx   eax, byte [gdt + (%1) + 5]
        and     eax, 0x0F
%endmacro

; Record what a task sees: STR, EFLAGS.NT, CR0.TS, both TSS types, B's
; back-link; into the 6 dwords at %1.  Clears CR0.TS.
%macro SNAPSHOT 1
        str     ax
        movzx   eax, ax
        mov     [%1], eax
        pushfd
        pop     eax
        and     eax, EFLAGS_NT
        mov     [%1 + 4], eax
        mov     eax, cr0
        and     eax, 8
        mov     [%1 + 8], eax
        clts
        DESC_TYPE SEL_TSS0
        mov     [%1 + 12], eax
        DESC_TYPE SEL_TSS_B
        mov     [%1 + 16], eax
        movzx   eax, word [TSS_B]
        mov     [%1 + 20], eax
%endmacro

; Check a SNAPSHOT %1: task register %2, NT %3, A's type %4, B's type %5,
; B's back-link %6; the text names the moment.
%macro CHECK_SNAPSHOT 7
%strcat %%tr %7, ": TR"
%strcat %%nt %7, ": EFLAGS.NT"
%strcat %%ts %7, ": CR0.TS set by the switch"
%strcat %%ta %7, ": type of A's TSS"
%strcat %%tb %7, ": type of B's TSS"
%strcat %%link %7, ": B's back-link"
        CHECK   [%1], %2, %%tr
        CHECK   [%1 + 4], %3, %%nt
        CHECK   [%1 + 8], 8, %%ts
        CHECK   [%1 + 12], %4, %%ta
        CHECK   [%1 + 16], %5, %%tb
        CHECK   [%1 + 20], %6, %%link
%endmacro

%include "pm.inc"

main32:
        mov     ecx, VEC_TASK_GATE      ; IDT 0x50: task gate to TSS_B
        mov     dword [IDT_BASE + ecx * 8], SEL_TSS_B << 16
        mov     dword [IDT_BASE + ecx * 8 + 4], 0x8500
        DESC_TYPE SEL_TSS0
        CHECK   eax, 9, "type of A's TSS before LTR: available"
        call    init_tss
        str     ax
        movzx   eax, ax
        CHECK   eax, SEL_TSS0, "STR after LTR"
        DESC_TYPE SEL_TSS0
        CHECK   eax, 11, "type of A's TSS after LTR: busy"
        mov     edi, TSS_B              ; task B: flat ring 0, its own stack
        mov     ecx, 0x68 / 4
        xor     eax, eax
        rep stosd
        mov     dword [TSS_B + 0x20], task_b
        mov     dword [TSS_B + 0x24], 0x00000002
        mov     dword [TSS_B + 0x28], 0xB0B0B0B0
        mov     dword [TSS_B + 0x38], TASK_B_STACK
        mov     dword [TSS_B + 0x4C], SEL_CODE32
        mov     eax, SEL_DATA32
        mov     [TSS_B + 0x48], eax
        mov     [TSS_B + 0x50], eax
        mov     [TSS_B + 0x54], eax
        mov     [TSS_B + 0x58], eax
        mov     [TSS_B + 0x5C], eax
        mov     word [TSS_B + 0x66], 0x68

; ---- JMP to B, JMP back
        mov     esi, 0x5A5A0001
        mov     ebp, esp
.jmp1:  jmp     SEL_TSS_B:0
.jmp1_back:
        mov     ebx, esi
        mov     ecx, esp
        SNAPSHOT snap_a1
        CHECK   [b1_eax], 0xB0B0B0B0, "task B's EAX loaded from its TSS"
        CHECK   [b1_esp], TASK_B_STACK, "task B's ESP loaded from its TSS"
        mov     eax, [b1_saved_eip]
        sub     eax, .jmp1_back
        CHECK   eax, 0, "A's TSS EIP, minus the address after the jmp"
        CHECK   [b1_saved_esi], 0x5A5A0001, "A's TSS ESI"
        CHECK_SNAPSHOT snap_b1, SEL_TSS_B, 0, 9, 11, 0, "in B after jmp"
        CHECK   ebx, 0x5A5A0001, "A's ESI restored by the jmp back"
        CHECK   ecx, ebp, "A's ESP restored by the jmp back"
        CHECK_SNAPSHOT snap_a1, SEL_TSS0, 0, 11, 9, 0, "in A after jmp back"

; ---- CALL to B, IRET back
        call    SEL_TSS_B:0
        SNAPSHOT snap_a2
        CHECK_SNAPSHOT snap_b2, SEL_TSS_B, EFLAGS_NT, 11, 11, SEL_TSS0, "in B after call"
        CHECK_SNAPSHOT snap_a2, SEL_TSS0, 0, 11, 9, SEL_TSS0, "in A after iret"

; ---- INT through a task gate, IRET back
        mov     word [TSS_B], 0
        int     VEC_TASK_GATE
        SNAPSHOT snap_a3
        CHECK_SNAPSHOT snap_b3, SEL_TSS_B, EFLAGS_NT, 11, 11, SEL_TSS0, "in B after int 0x50"
        CHECK_SNAPSHOT snap_a3, SEL_TSS0, 0, 11, 9, SEL_TSS0, "in A after iret"

; ---- CALL to a busy task
        EXPECT  .busy_r
.busy:  call    SEL_TSS0:0
.busy_r: CHECK_EXC 13, SEL_TSS0, .busy, 0, "call to the busy TSS of A"
; ---- CALL through a task gate in the GDT, IRET back
        mov     edi, TSS_C
        mov     eax, task_c
        mov     edx, STACK_C
        call    make_tss
        call    SEL_GATE_C:0
        str     ax
        mov     [a_tr], ax
        DESC_TYPE SEL_TSS_C
        mov     [a_type], eax
        mov     esi, checks_c
        call    table_checks

; ---- #GP through a task gate in the IDT: a nested switch to C, the error
; code pushed on C's stack; C resumes A past the fault
        mov     dword [IDT_BASE + 13 * 8], SEL_TSS_C << 16
        mov     dword [IDT_BASE + 13 * 8 + 4], 0x8500
        mov     ax, BAD_SEL
gp_fault:
        mov     ds, ax
gp_back:
        call    init_idt                ; vector 13: the interrupt gate again
        sub     dword [c2_eip], gp_fault
        mov     esi, checks_gp
        call    table_checks

; ---- CR3 and LDTR from the TSS, with paging on
        call    setup_paging
        mov     dword [TSS0 + 0x1C], PD_A       ; A's CR3, loaded on the way back
        mov     eax, PD_A
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax
        mov     edi, TSS_D
        mov     eax, task_d
        mov     edx, STACK_D
        call    make_tss
        mov     dword [TSS_D + 0x1C], PD_D
        mov     dword [TSS_D + 0x60], SEL_LDT_D
        mov     dword [TSS_D + 0x48], SEL_LDT_DATA      ; ES from D's LDT
        mov     dword [LDT_D], 0x00040FFF               ; data, base 0x20004
        mov     dword [LDT_D + 4], 0x00009202
        call    SEL_TSS_D:0
        mov     eax, cr3
        mov     [a_cr3], eax
        mov     eax, [MARK_A]
        mov     [a_mark], eax
        sldt    [a_ldtr]
        mov     eax, cr0
        and     eax, 0x7FFFFFFF
        mov     cr0, eax                        ; paging off
        mov     esi, checks_d
        call    table_checks

; ---- a 16-bit TSS: JMP there and back
        mov     edi, TSS_16
        mov     ecx, 0x2C
        xor     eax, eax
        rep stosb
        mov     word [TSS_16 + 0x0E], task_16
        mov     byte [TSS_16 + 0x10], 2
        mov     word [TSS_16 + 0x12], 0x1616    ; AX
        mov     word [TSS_16 + 0x1A], STACK_16  ; SP
        mov     al, SEL_DATA32
        mov     [TSS_16 + 0x22], al             ; ES
        mov     [TSS_16 + 0x26], al             ; SS
        mov     [TSS_16 + 0x28], al             ; DS
        mov     byte [TSS_16 + 0x24], SEL_CODE32
        mov     esi, 0x5A5A0016
        jmp     SEL_TSS_16:0
        mov     [a_esi], esi
        movzx   eax, word [TSS_16 + 0x0E]
        sub     eax, task_16_after
        mov     [t16_ip], eax
        mov     ax, [TSS_16 + 0x1E]
        mov     [t16_si], ax
        DESC_TYPE SEL_TSS_16
        mov     [a_type], eax
        mov     esi, checks_16
        call    table_checks

; ---- a ring-3 task with its own I/O bitmap (port 0x80 allowed, 0x81 not)
        mov     edi, TSS_E
        mov     eax, task_e
        mov     edx, STACK_E3
        call    make_tss
        mov     dword [TSS_E + 4], STACK_E0
        mov     dword [TSS_E + 8], SEL_DATA32
        mov     dword [TSS_E + 0x4C], SEL_CODE32_R3
        mov     eax, SEL_DATA32_R3
        mov     [TSS_E + 0x48], eax
        mov     [TSS_E + 0x50], eax
        mov     [TSS_E + 0x54], eax
        mov     [TSS_E + 0x58], eax
        mov     [TSS_E + 0x5C], eax
        mov     edi, TSS_E + TSS_IOMAP
        mov     ecx, 33
        mov     al, 0xFF
        rep stosb
        mov     eax, 0x80
        btr     [TSS_E + TSS_IOMAP], eax
        call    SEL_TSS_E:0
        CHECK_EXC 13, 0, e_denied, 0, "ring-3 E: OUT 81h (bitmap denies)"
        mov     esi, checks_e
        call    table_checks

; ---- #TS: a TSS limit below 67h; nothing changes
        EXPECT  ts_short_r
ts_short:
        jmp     SEL_TSS_SHORT:0
ts_short_r:
        CHECK_EXC 10, SEL_TSS_SHORT, ts_short, 0, "jmp to a TSS of limit 66h"
        str     ax
        mov     [a_tr], ax
        DESC_TYPE SEL_TSS0
        mov     [a_type], eax

; ---- #TS after the commit point: F's DS is past the GDT; the handler
; runs in F (its TSS busy, TR F's)
        mov     edi, TSS_F
        mov     eax, task_f
        mov     edx, STACK_F
        call    make_tss
        mov     dword [TSS_F + 0x54], BAD_SEL
        mov     dword [exc_hook], f_hook
        jmp     SEL_TSS_F:0
        mov     dword [exc_hook], 0
        mov     esi, checks_f
        call    table_checks

        jmp     finish

; Task B: each entry snapshots and goes back to A.
task_b:
        mov     [b1_eax], eax
        mov     [b1_esp], esp
        mov     eax, [TSS0 + 0x20]
        mov     [b1_saved_eip], eax
        mov     eax, [TSS0 + 0x40]
        mov     [b1_saved_esi], eax
        SNAPSHOT snap_b1
        jmp     SEL_TSS0:0
        SNAPSHOT snap_b2                ; entered by CALL
        iretd
        SNAPSHOT snap_b3                ; entered by INT through the task gate
        iretd
        jmp     $

; Task C: entered by CALL through the gate (a CALL to itself through the
; gate is #GP: it is busy), then by #GP through the IDT task gate.
task_c:
        str     [c1_tr]
        pushfd
        pop     eax
        and     eax, EFLAGS_NT
        mov     [c1_nt], eax
        mov     ax, [TSS_C]
        mov     [c1_link], ax
        DESC_TYPE SEL_TSS_C
        mov     [c1_type], eax
        EXPECT  c_busy_r
c_busy: call    SEL_GATE_C:0
c_busy_r:
        CHECK_EXC 13, SEL_TSS_C, c_busy, 0, "in C: call through the gate to busy C"
        iretd
        mov     [c2_esp], esp           ; entered by #GP: its error code on top
        pop     dword [c2_err]
        pushfd
        pop     eax
        and     eax, EFLAGS_NT
        mov     [c2_nt], eax
        mov     ax, [TSS_C]
        mov     [c2_link], ax
        mov     eax, [TSS0 + 0x20]
        mov     [c2_eip], eax
        mov     dword [TSS0 + 0x20], gp_back    ; A goes on past the fault
        iretd

; Task D: its CR3 and LDT.
task_d:
        mov     eax, cr3
        mov     [d_cr3], eax
        mov     eax, [MARK_A]
        mov     [d_mark], eax
        sldt    [d_ldtr]
        mov     eax, [es:0]
        mov     [d_es], eax
        iretd

; The 16-bit task (no stack use: SP's upper half is not defined).
task_16:
        mov     [t16_ax], ax
        mov     [t16_fs], fs
        str     [t16_tr]
        DESC_TYPE SEL_TSS_16
        mov     [t16_type], eax
        mov     si, 0x1617
        jmp     SEL_TSS0:0
task_16_after:

; Task E, ring 3: OUT to an allowed port, then IRET (NT) back.
task_e:
        mov     [e_cs], cs
        out     0x80, al
        inc     dword [e_io]
        EXPECT  e_denied_r
e_denied:
        out     0x81, al
e_denied_r:
        iretd

; Task F never runs its first instruction: the #TS for its DS comes
; first. The hook (called by the exception handler) records what it sees
; and resumes F at task_f_resume, with a valid DS.
task_f:
        jmp     $
task_f_resume:
        jmp     SEL_TSS0:0
f_hook:
        mov     eax, [exc_vec]
        mov     [f_vec], eax
        mov     eax, [exc_err]
        mov     [f_err], eax
        mov     eax, [exc_ds]
        mov     [f_ds], eax
        str     [f_tr]
        DESC_TYPE SEL_TSS_F
        mov     [f_type], eax
        mov     dword [ebp + F_DS], SEL_DATA32
        mov     dword [ebp + F_EIP], task_f_resume
        mov     eax, 1
        ret

; A 32-bit TSS at EDI for flat ring-0 code: EIP = EAX, ESP = EDX, EFLAGS 2,
; the I/O map base at 68h.
make_tss:
        pushad
        push    eax
        xor     eax, eax
        mov     ecx, 0x68 / 4
        rep stosd
        pop     eax
        sub     edi, 0x68
        mov     [edi + 0x20], eax
        mov     byte [edi + 0x24], 2
        mov     [edi + 0x38], edx
        mov     byte [edi + 0x4C], SEL_CODE32
        mov     al, SEL_DATA32
        mov     [edi + 0x48], al
        mov     [edi + 0x50], al
        mov     [edi + 0x54], al
        mov     [edi + 0x58], al
        mov     [edi + 0x5C], al
        mov     byte [edi + 0x66], TSS_IOMAP
        popad
        ret

; Page tables: A's and D's identity map 0-4 MiB, D's with page 0x20000 at
; 0x21000; the marker words they read.
setup_paging:
        pushad
        mov     edi, PD_A
        mov     ecx, 4 * 1024
        xor     eax, eax
        rep stosd
        mov     edi, PT_A
        mov     al, 3                   ; present, writable
        mov     ecx, 1024
.pte:   stosd
        add     eax, 0x1000
        loop    .pte
        mov     esi, PT_A
        mov     edi, PT_D
        mov     ch, 1024 >> 8
        rep movsd
        mov     dword [PT_D + (MARK_A >> 12) * 4], MARK_D | 3
        mov     dword [PD_A], PT_A | 3
        mov     dword [PD_D], PT_D | 3
        mov     dword [MARK_A], 0x11111111
        mov     dword [MARK_D], 0x22222222
        mov     dword [MARK_D + 4], 0x33333333
        popad
        ret

; Checks from a table at ESI: entries of a dword's address, its expected
; value and the text; a zero address ends it.
table_checks:
        pushad
.next:  lodsd
        test    eax, eax
        jz      .done
        mov     ebx, [eax]
        lodsd
        mov     edx, eax
        mov     eax, ebx
        call    check_eq
.skip:  lodsb
        test    al, al
        jnz     .skip
        jmp     .next
.done:  popad
        ret

%macro T 3
        dd      %1, %2
        db      %3, 0
%endmacro

checks_c:
        T       c1_tr, SEL_TSS_C, "C, called via a gate: TR"
        T       c1_nt, EFLAGS_NT, "in C: EFLAGS.NT"
        T       c1_link, SEL_TSS0, "in C: back-link"
        T       c1_type, 11, "in C: C's type"
        T       a_tr, SEL_TSS0, "A, after iret: TR"
        T       a_type, 9, "in A: C's type"
        dd      0
checks_gp:
        T       c2_err, BAD_SEL, "#GP via a task gate to C: error code"
        T       c2_esp, STACK_C - 4, "C's ESP"
        T       c2_eip, 0, "A's saved EIP - the mov's"
        T       c2_nt, EFLAGS_NT, "in C: EFLAGS.NT"
        T       c2_link, SEL_TSS0, "in C: back-link"
        dd      0
checks_d:
        T       d_cr3, PD_D, "in D: CR3"
        T       d_mark, 0x22222222, "in D: [20000h]"
        T       d_ldtr, SEL_LDT_D, "in D: LDTR"
        T       d_es, 0x33333333, "in D: ES:0 (LDT)"
        T       a_cr3, PD_A, "A, after iret: CR3"
        T       a_mark, 0x11111111, "in A: [20000h]"
        T       a_ldtr, 0, "in A: LDTR"
        dd      0
checks_16:
        T       t16_ax, 0x1616, "in the 16-bit task: AX"
        T       t16_fs, 0, "in it: FS"
        T       t16_tr, SEL_TSS_16, "in it: TR"
        T       t16_type, 3, "in it: its type"
        T       t16_ip, 0, "its saved IP - after its jmp"
        T       t16_si, 0x1617, "its saved SI"
        T       a_esi, 0x5A5A0016, "A, after jmp: ESI"
        T       a_type, 1, "in A: its type"
        dd      0
checks_e:
        T       e_cs, SEL_CODE32_R3, "in E: CS"
        T       e_io, 1, "in E: OUT 80h (allowed)"
        dd      0
checks_f:
        T       a_tr, SEL_TSS0, "TR after the #TS"
        T       a_type, 11, "A's type"
        T       f_vec, 10, "F, bad DS in its TSS: #TS"
        T       f_err, BAD_SEL, "in F: error code"
        T       f_ds, BAD_SEL, "in F: DS"
        T       f_tr, SEL_TSS_F, "in F: TR"
        T       f_type, 11, "in F: F's type"
        dd      0

b1_eax:         dd      0
c1_tr:          dd      0
c1_nt:          dd      0
c1_link:        dd      0
c1_type:        dd      0
c2_esp:         dd      0
c2_err:         dd      0
c2_nt:          dd      0
c2_link:        dd      0
c2_eip:         dd      0
d_cr3:          dd      0
d_mark:         dd      0
d_ldtr:         dd      0
d_es:           dd      0
t16_ax:         dd      0
t16_fs:         dd      0
t16_tr:         dd      0
t16_type:       dd      0
t16_ip:         dd      0
t16_si:         dd      0
e_cs:           dd      0
e_io:           dd      0
f_vec:          dd      -1
f_err:          dd      0
f_ds:           dd      0
f_tr:           dd      0
f_type:         dd      0
a_tr:           dd      0
a_type:         dd      0
a_cr3:          dd      0
a_mark:         dd      0
a_ldtr:         dd      0
a_esi:          dd      0
b1_esp:         dd      0
b1_saved_eip:   dd      0
b1_saved_esi:   dd      0
snap_a1:        times 6 dd 0
snap_b1:        times 6 dd 0
snap_a2:        times 6 dd 0
snap_b2:        times 6 dd 0
snap_a3:        times 6 dd 0
snap_b3:        times 6 dd 0

%include "pm_end.inc"
