; pm_sysenter.asm - SYSENTER and SYSEXIT (the 686 model; QEMU's default CPU
; has them too): CPUID's SEP bit, the SYSENTER MSRs read back, #GP(0) with
; SYSENTER_CS = 0; SYSEXIT to ring 3 (flat CS and SS from SYSENTER_CS + 16
; and + 24 with RPL 3, ESP = ECX, EIP = EDX, EFLAGS kept); #GP(0) for
; SYSEXIT at CPL 3; SYSENTER back to ring 0 (CS and SS from SYSENTER_CS and
; + 8, its RPL bits ignored, ESP and EIP from the MSRs, IF cleared, DF
; kept); SYSENTER from a 16-bit code segment into the 32-bit entry.

%define GUEST_NAME "pm_sysenter"

SEL_SYS         equ     SEL_GUEST       ; ring-0 code; + 8 its stack, + 16/24 ring 3
MSR_SYSENTER_CS equ     0x174
MSR_SYSENTER_ESP equ    0x175
MSR_SYSENTER_EIP equ    0x176
SYS_STACK       equ     0x7000          ; SYSENTER's ESP
USER_STACK      equ     RING3_STACK

%macro GUEST_GDT 0
        DESC    0, 0xFFFFF, 0x9A, 0xC   ; 0x40 code, DPL 0
        DESC    0, 0xFFFFF, 0x92, 0xC   ; 0x48 data, DPL 0
        DESC    0, 0xFFFFF, 0xFA, 0xC   ; 0x50 code, DPL 3
        DESC    0, 0xFFFFF, 0xF2, 0xC   ; 0x58 data, DPL 3
%endmacro

%include "pm.inc"

%macro WRMSR 2
        mov     ecx, %1
        mov     eax, %2
        xor     edx, edx
        wrmsr
%endmacro

main32:
        call    init_tss
        mov     eax, DEBUGCON
        call    io_allow
        mov     eax, 1
        cpuid
        shr     edx, 11
        and     edx, 1
        CHECK   edx, 1, "cpuid 1: SEP"

; ---- SYSENTER_CS = 0: both #GP(0)
        WRMSR   MSR_SYSENTER_CS, 0
        EXPECT  .gp1
.se0:   sysenter
.gp1:   CHECK_EXC 13, 0, .se0, 0, "sysenter with SYSENTER_CS 0"
        EXPECT  .gp2
.sx0:   sysexit
.gp2:   CHECK_EXC 13, 0, .sx0, 0, "sysexit with SYSENTER_CS 0"

; ---- the MSRs (SYSENTER_CS with RPL 3: ignored by both)
        WRMSR   MSR_SYSENTER_CS, SEL_SYS | 3
        WRMSR   MSR_SYSENTER_ESP, SYS_STACK
        WRMSR   MSR_SYSENTER_EIP, sys_entry
        mov     ecx, MSR_SYSENTER_CS
        rdmsr
        CHECK   eax, SEL_SYS | 3, "rdmsr SYSENTER_CS"
        mov     ecx, MSR_SYSENTER_ESP
        rdmsr
        CHECK   eax, SYS_STACK, "rdmsr SYSENTER_ESP"
        mov     ecx, MSR_SYSENTER_EIP
        rdmsr
        CHECK   eax, sys_entry, "rdmsr SYSENTER_EIP"
        CHECK   edx, 0, "rdmsr SYSENTER_EIP: EDX"

; ---- SYSEXIT to ring 3, with IF and DF set
        mov     [ring0_esp], esp
        mov     dword [entry_next], back_from_ring3
        mov     ecx, USER_STACK
        mov     edx, ring3
        sti                             ; every IRQ is masked at the PICs
        std
        sysexit

back_from_ring3:
        cld
        cli
        mov     ax, SEL_DATA32
        mov     ss, ax
        mov     esp, [ring0_esp]
        CHECK   [k_cs], SEL_SYS, "sysenter: CS"
        CHECK   [k_ss], SEL_SYS + 8, "sysenter: SS"
        CHECK   [k_esp], SYS_STACK, "sysenter: ESP from the MSR"
        mov     eax, [k_eflags]
        and     eax, EFLAGS_IF | 0x400
        CHECK   eax, 0x400, "sysenter: IF cleared, DF kept"
        CHECK   [k_ebx], USER_STACK - 4, "sysenter: ring 3's ESP untouched"

; ---- SYSENTER from a 16-bit code segment
        mov     dword [entry_next], back_from_16
        mov     dword [k_cs], 0
        jmp     SEL_CODE16:code16

        bits    16
code16:
        sysenter
        bits    32

back_from_16:
        mov     ax, SEL_DATA32
        mov     ss, ax
        mov     esp, [ring0_esp]
        CHECK   [k_cs], SEL_SYS, "sysenter from 16-bit code: CS"
        CHECK   [k_esp], SYS_STACK, "sysenter from 16-bit code: ESP"
        jmp     finish

; ---- ring 3 (DS and ES still hold ring 0's data segment: reload them)
ring3:
        mov     [u_esp], esp            ; DS's cache still works at CPL 3
        mov     [u_cs], cs
        mov     [u_ss], ss
        pushfd
        pop     dword [u_eflags]
        cld                             ; the checks print with LODSB
        mov     ax, SEL_DATA32_R3
        mov     ds, ax
        mov     es, ax
        CHECK   [u_cs], (SEL_SYS + 16) | 3, "sysexit: CS"
        CHECK   [u_ss], (SEL_SYS + 24) | 3, "sysexit: SS"
        CHECK   [u_esp], USER_STACK, "sysexit: ESP = ECX"
        mov     eax, [u_eflags]
        and     eax, EFLAGS_IF | 0x400
        CHECK   eax, EFLAGS_IF | 0x400, "sysexit: EFLAGS kept"
        EXPECT  .gp3
.sx3:   sysexit
.gp3:   CHECK_EXC 13, 0, .sx3, 0, "sysexit at CPL 3"
        push    dword 0x12345678        ; ESP - 4, seen by the entry in EBX
        mov     ebx, esp
        std                             ; DF goes through SYSENTER
        sysenter

sys_entry:
        mov     [k_cs], cs
        mov     [k_ss], ss
        mov     [k_esp], esp
        mov     [k_ebx], ebx
        pushfd
        pop     dword [k_eflags]
        mov     ax, SEL_DATA32
        mov     ds, ax
        mov     es, ax
        jmp     [entry_next]

        align   4
ring0_esp:      dd      0
entry_next:     dd      0
u_cs:           dd      0
u_ss:           dd      0
u_esp:          dd      0
u_eflags:       dd      0
k_cs:           dd      0
k_ss:           dd      0
k_esp:          dd      0
k_ebx:          dd      0
k_eflags:       dd      0

%include "pm_end.inc"
