; pm_task.asm - hardware task switches between two 32-bit TSSs: LTR and STR,
; JMP to a TSS (busy bits moved, no back-link, NT clear), JMP back (the
; registers saved in and restored from the old TSS), CALL to a TSS (NT set,
; back-link written, both busy) and IRET with NT back, INT through a task
; gate, CR0.TS set by every switch, #GP for a CALL to a busy task.
;
; Task A uses TSS0 (selector 0x38), task B TSS_B (0x40) at 0x2200.

%define GUEST_NAME "pm_task"

TSS_B           equ     0x2200
SEL_TSS_B       equ     SEL_GUEST
TASK_B_STACK    equ     0x4800
VEC_TASK_GATE   equ     0x50

%macro GUEST_GDT 0
        DESC    TSS_B, 0x67, 0x89, 0x0
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

b1_eax:         dd      0
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
