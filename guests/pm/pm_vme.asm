; pm_vme.asm - virtual-mode extensions (the 686 model): CR4.VME in
; virtual-8086 mode and CR4.PVI at ring 3 (Intel SDM Vol. 3A 20.3-20.4).
;
; A ring-0 monitor (a hook of the #GP handler) runs short routines in V86
; mode and at ring 3, records each #GP they raise (IP, error code, SP) and
; resumes them where they say ([gp_resume]); [gp_resume] = 0 ends the
; routine. TSS1 has an interrupt redirection bitmap (the 32 bytes below
; its I/O map base) with only INT 40h's bit set.
; Pass 1, V86, IOPL 0, VIF 0: CLI and STI work on VIF; 16-bit PUSHF shows
; VIF as IF and IOPL as 3; 16-bit POPF loads VIF; PUSHFD, POPFD, IRETD,
; POPF and IRET with TF in the image raise #GP(0) (SP left as it was);
; 16-bit IRET loads VIF; INT 21h (bit clear) goes through the V86 IVT
; with IF from VIF and IOPL 3 in the pushed image, and VIF cleared; INT
; 40h (bit set) is #GP(0); INT3 goes through the IDT (DPL-0 gate:
; #GP(0x1A)). The real IF stays 0 throughout.
; Pass 2, V86 with VIP set: STI, POPF and IRET setting VIF raise #GP(0);
; CLI and a POPF leaving VIF clear do not.
; Pass 3, V86, IOPL 3 (VIF set): INT 21h through the IVT pushes the real
; FLAGS and leaves VIF alone; INT 40h goes through the IDT's DPL-3 gate.
; Passes 4-6, ring 3, IOPL 0: with PVI, CLI and STI work on VIF (PUSHFD
; shows it), POPFD leaves VIF and IF alone; with VIP, STI is #GP(0);
; without PVI, CLI is #GP(0).

%define GUEST_NAME "pm_vme"

TSS1            equ     0x2800
TSS1_REDIR      equ     0x68            ; interrupt redirection bitmap
TSS1_IOMAP      equ     0x88
TSS1_LIMIT      equ     TSS1_IOMAP + 32 ; 32 bitmap bytes + the 0xFF byte
SEL_TSS1        equ     SEL_GUEST
V86_STACK       equ     0x4000          ; SS:SP = 0000:4000
VEC_IVT         equ     0x21            ; redirection bit clear
VEC_IDT         equ     0x40            ; redirection bit set
EFLAGS_IOPL3    equ     0x3000
EFLAGS_VIF      equ     1 << 19
EFLAGS_VIP      equ     1 << 20
CR4_VME         equ     1
CR4_PVI         equ     2
VIRTUAL_BITS    equ     EFLAGS_VM | EFLAGS_VIP | EFLAGS_VIF | EFLAGS_IOPL3 | EFLAGS_IF

%macro GUEST_GDT 0
        DESC    TSS1, TSS1_LIMIT, 0x89, 0x0 ; 0x40 32-bit TSS with the bitmap
%endmacro

%include "pm.inc"

; Enter V86 at %1 with EFLAGS %2 (VM added); the routine ends at %3.
%macro V86_PASS 3
        mov     dword [gp_count], 0
        mov     [monitor_esp], esp
        mov     dword [monitor_next], %3
        push    dword 0                 ; GS
        push    dword 0                 ; FS
        push    dword 0                 ; DS
        push    dword 0                 ; ES
        push    dword 0                 ; SS
        push    dword V86_STACK         ; ESP
        push    dword EFLAGS_VM | 2 | (%2)
        push    dword 0                 ; CS
        push    dword %1                ; EIP
        iretd
%endmacro

; Enter ring 3 at %1 with EFLAGS %2 (IOPL 0); the routine ends at %3.
%macro RING3_PASS 3
        mov     dword [gp_count], 0
        mov     [monitor_esp], esp
        mov     dword [monitor_next], %3
        push    dword SEL_DATA32_R3
        push    dword RING3_STACK
        push    dword 2 | (%2)
        push    dword SEL_CODE32_R3
        push    dword %1
        iretd
%endmacro

; #GP number %1 of the pass: at %2, error code %3.
%macro CHECK_GP 4
        mov     eax, [gp_ip + (%1) * 4]
        sub     eax, %2
        CHECK   eax, 0, %4
        CHECK   [gp_err + (%1) * 4], %3, "  its error code"
%endmacro

main32:
        mov     edi, TSS1
        mov     ecx, TSS1_LIMIT + 1
        xor     eax, eax
        rep stosb
        mov     dword [TSS1 + 4], RING0_STACK
        mov     dword [TSS1 + 8], SEL_DATA32
        mov     word [TSS1 + 0x66], TSS1_IOMAP
        mov     edi, TSS1 + TSS1_IOMAP
        mov     ecx, 33
        mov     al, 0xFF
        rep stosb
        mov     eax, VEC_IDT
        bts     [TSS1 + TSS1_REDIR], eax ; (an immediate bit offset wraps at 32)
        mov     ax, SEL_TSS1
        ltr     ax
        mov     ecx, VEC_IDT
        mov     eax, int_from_v86
        mov     bl, 0xEE                ; DPL 3
        call    set_gate
        mov     dword [VEC_IVT * 4], v86_int21  ; IVT: 0000:v86_int21
        mov     dword [exc_hook], monitor

        mov     eax, 1
        cpuid
        and     edx, 2
        CHECK   edx, 2, "cpuid 1: VME"
        mov     eax, cr4
        or      eax, CR4_VME | CR4_PVI
        mov     cr4, eax
        mov     eax, cr4
        and     eax, 3
        CHECK   eax, 3, "CR4.VME and PVI set"

; ---- pass 1: V86, IOPL 0
        V86_PASS v86_pass1, 0, .pass1_done
.pass1_done:
        movzx   eax, word [p1_cli]
        and     eax, 0x3200
        CHECK   eax, 0x3000, "CLI, PUSHF: IF (VIF) 0, IOPL 3"
        movzx   eax, word [p1_sti]
        and     eax, 0x3200
        CHECK   eax, 0x3200, "STI, PUSHF: IF (VIF) 1, IOPL 3"
        CHECK   [p1_popf0], 0x3003, "POPF 0001h, PUSHF"
        CHECK   [p1_popf1], 0x3202, "POPF 0200h, PUSHF"
        CHECK   [gp_count], 8, "#GPs in pass 1"
        CHECK_GP 0, v86_pass1.g1, 0, "PUSHFD: #GP"
        CHECK_GP 1, v86_pass1.g2, 0, "POPF with TF in the image: #GP"
        CHECK   [gp_sp + 4], V86_STACK - 2, "  SP at the #GP (the image still pushed)"
        CHECK_GP 2, v86_pass1.g3, 0, "POPFD: #GP"
        CHECK_GP 3, v86_pass1.g4, 0, "IRETD: #GP"
        CHECK_GP 4, v86_pass1.g5, 0, "IRET with TF in the image: #GP"
        CHECK   [gp_sp + 16], V86_STACK - 6, "  SP at the #GP"
        CHECK   [p1_iret0], 0x3002, "IRET to an image with IF 0, PUSHF"
        CHECK   [p1_ax], 0x0141, "INT 21h through the IVT: AX from its handler"
        CHECK   [p1_int_image], 0x3202, "  the FLAGS it pushed: IF from VIF, IOPL 3"
        mov     eax, [p1_int_ip]
        sub     eax, v86_pass1.after21
        CHECK   eax, 0, "  the IP it pushed, minus the next instruction's"
        movzx   eax, word [p1_in_handler]
        and     eax, 0x3300
        CHECK   eax, 0x3000, "  PUSHF in the handler: VIF and TF cleared"
        movzx   eax, word [p1_after_int]
        and     eax, 0x3200
        CHECK   eax, 0x3200, "  PUSHF after its IRET: VIF back"
        CHECK_GP 5, v86_pass1.g6, 0, "INT 40h (redirection bit set): #GP"
        CHECK_GP 6, v86_pass1.g7, 3 * 8 + 2, "INT3 through the IDT (DPL-0 gate)"
        CHECK_GP 7, v86_pass1.g8, 0, "PUSHFD after STI: #GP"
        mov     eax, [end_eflags]
        and     eax, VIRTUAL_BITS
        CHECK   eax, EFLAGS_VM | EFLAGS_VIF, "EFLAGS at the end: VM VIF, IF 0, IOPL 0"

; ---- pass 2: V86, IOPL 0, VIP set
        V86_PASS v86_pass2, EFLAGS_VIP, .pass2_done
.pass2_done:
        CHECK   [gp_count], 3, "#GPs with VIP"
        CHECK_GP 0, v86_pass2.g1, 0, "STI with VIP: #GP"
        CHECK_GP 1, v86_pass2.g2, 0, "POPF 0200h with VIP: #GP"
        CHECK_GP 2, v86_pass2.g3, 0, "IRET to IF 1 with VIP: #GP"
        mov     eax, [end_eflags]
        and     eax, VIRTUAL_BITS
        CHECK   eax, EFLAGS_VM | EFLAGS_VIP, "EFLAGS at the end: VM VIP"

; ---- pass 3: V86, IOPL 3, VIF set
        V86_PASS v86_pass3, EFLAGS_IOPL3 | EFLAGS_VIF, .pass3_done
.pass3_done:
        CHECK   [gp_count], 0, "#GPs at IOPL 3"
        CHECK   [p1_ax], 0x0241, "INT 21h at IOPL 3 through the IVT: AX"
        mov     eax, [p1_int_image]
        and     eax, 0x3200
        CHECK   eax, 0x3000, "  the FLAGS it pushed: the real IF, IOPL 3"
        mov     eax, [idt_eip]
        sub     eax, v86_pass3.after40
        CHECK   eax, 0, "INT 40h at IOPL 3 through the IDT: saved EIP"
        mov     eax, [end_eflags]
        and     eax, VIRTUAL_BITS
        CHECK   eax, EFLAGS_VM | EFLAGS_VIF | EFLAGS_IOPL3, "EFLAGS at the end: VM VIF IOPL 3"

; ---- pass 4: ring 3, IOPL 0, PVI
        RING3_PASS ring3_pvi, 0, .pass4_done
.pass4_done:
        CHECK   [gp_count], 0, "#GPs at ring 3 with PVI"
        mov     eax, [r3_cli]
        and     eax, EFLAGS_VIF | EFLAGS_IF
        CHECK   eax, 0, "ring 3, CLI, PUSHFD: VIF 0, IF 0"
        mov     eax, [r3_sti]
        and     eax, EFLAGS_VIF | EFLAGS_IF
        CHECK   eax, EFLAGS_VIF, "ring 3, STI, PUSHFD: VIF 1, IF 0"
        mov     eax, [r3_popfd]
        and     eax, EFLAGS_VIF | EFLAGS_IF
        CHECK   eax, EFLAGS_VIF, "ring 3, POPFD 200h, PUSHFD: VIF and IF kept"

; ---- pass 5: ring 3 with VIP
        RING3_PASS ring3_vip, EFLAGS_VIP, .pass5_done
.pass5_done:
        CHECK   [gp_count], 1, "#GPs at ring 3 with VIP"
        CHECK_GP 0, ring3_vip.g1, 0, "STI with VIP: #GP"

; ---- pass 6: ring 3 without PVI
        mov     eax, cr4
        and     eax, ~CR4_PVI
        mov     cr4, eax
        RING3_PASS ring3_nopvi, 0, .pass6_done
.pass6_done:
        CHECK   [gp_count], 1, "#GPs at ring 3 without PVI"
        CHECK_GP 0, ring3_nopvi.g1, 0, "CLI: #GP"
        jmp     finish

; The #GP hook for V86 and ring 3: log, resume at [gp_resume], or end.
monitor:
        xor     eax, eax
        cmp     dword [ebp + F_VEC], 13
        jne     .done
        test    dword [ebp + F_EFLAGS], EFLAGS_VM
        jnz     .ours
        test    byte [ebp + F_CS], 3
        jz      .done
.ours:
        mov     eax, [ebp + F_EFLAGS]
        mov     [end_eflags], eax
        mov     eax, [gp_resume]
        test    eax, eax
        jz      .end
        mov     ecx, [gp_count]
        cmp     ecx, 8
        jae     .end                    ; (more than any pass expects)
        mov     edx, [ebp + F_EIP]
        mov     [gp_ip + ecx * 4], edx
        mov     edx, [ebp + F_ERR]
        mov     [gp_err + ecx * 4], edx
        mov     edx, [ebp + F_ESP]
        mov     [gp_sp + ecx * 4], edx
        inc     dword [gp_count]
        mov     [ebp + F_EIP], eax
        mov     eax, 1
.done:
        ret
.end:
        mov     esp, [monitor_esp]
        jmp     [monitor_next]

; INT 40h from V86 with IOPL 3: record the saved EIP, return.
int_from_v86:
        push    eax
        mov     eax, [ss:esp + 4]
        mov     [ss:idt_eip], eax
        pop     eax
        iretd

        bits    16
v86_pass1:
        cli
        pushf
        pop     word [p1_cli]
        sti
        pushf
        pop     word [p1_sti]
        push    word 0x0001
        popf
        pushf
        pop     word [p1_popf0]
        push    word 0x0200
        popf
        pushf
        pop     word [p1_popf1]
        mov     word [gp_resume], .a1
.g1:    pushfd
.a1:    mov     word [gp_resume], .a2
        push    word 0x0300
.g2:    popf
.a2:    pop     ax
        mov     word [gp_resume], .a3
        push    dword 0
.g3:    popfd
.a3:    pop     eax
        mov     word [gp_resume], .a4
.g4:    iretd
.a4:    mov     word [gp_resume], .a5
        push    word 0x0100
        push    cs
        push    word .a5
.g5:    iret
.a5:    add     sp, 6
        push    word 0x0000
        push    cs
        push    word .r0
        iret
.r0:    pushf
        pop     word [p1_iret0]
        sti
        mov     ax, 0x0041
        int     VEC_IVT
.after21:
        mov     [p1_ax], ax
        pushf
        pop     word [p1_after_int]
        mov     word [gp_resume], .a6
.g6:    int     VEC_IDT
.a6:    mov     word [gp_resume], .a7
.g7:    int3
.a7:    mov     word [gp_resume], .a8
        sti
.g8:    pushfd
.a8:    mov     word [gp_resume], 0
        hlt

v86_int21:
        push    bp
        mov     bp, sp
        mov     dx, [bp + 6]
        mov     [p1_int_image], dx
        mov     dx, [bp + 2]
        mov     [p1_int_ip], dx
        pushf
        pop     word [p1_in_handler]
        pop     bp
        add     ax, 0x0100
        iret

v86_pass2:
        cli
        mov     word [gp_resume], .a1
.g1:    sti
.a1:    mov     word [gp_resume], .a2
        push    word 0x0200
.g2:    popf
.a2:    pop     ax
        push    word 0x0000
        popf
        mov     word [gp_resume], .a3
        push    word 0x0200
        push    cs
        push    word .a3
.g3:    iret
.a3:    add     sp, 6
        mov     word [gp_resume], 0
        hlt

v86_pass3:
        mov     ax, 0x0141
        int     VEC_IVT
        mov     [p1_ax], ax
        int     VEC_IDT
.after40:
        mov     word [gp_resume], 0
        hlt

        bits    32
ring3_pvi:
        mov     ax, SEL_DATA32_R3
        mov     ds, ax
        mov     es, ax
        cli
        pushfd
        pop     dword [r3_cli]
        sti
        pushfd
        pop     dword [r3_sti]
        push    dword 0x200
        popfd
        pushfd
        pop     dword [r3_popfd]
        mov     dword [gp_resume], 0
        hlt

ring3_vip:
        mov     ax, SEL_DATA32_R3
        mov     ds, ax
        cli
        mov     dword [gp_resume], .a1
.g1:    sti
.a1:    mov     dword [gp_resume], 0
        hlt

ring3_nopvi:
        mov     ax, SEL_DATA32_R3
        mov     ds, ax
        mov     dword [gp_resume], .a1
.g1:    cli
.a1:    mov     dword [gp_resume], 0
        hlt

monitor_esp:    dd      0
monitor_next:   dd      0
gp_resume:      dd      0
gp_count:       dd      0
gp_ip:          times 8 dd -1
gp_err:         times 8 dd -1
gp_sp:          times 8 dd -1
end_eflags:     dd      0
idt_eip:        dd      0
p1_cli:         dd      0
p1_sti:         dd      0
p1_popf0:       dd      0
p1_popf1:       dd      0
p1_iret0:       dd      0
p1_ax:          dd      0
p1_int_image:   dd      0
p1_int_ip:      dd      0
p1_in_handler:  dd      0
p1_after_int:   dd      0
r3_cli:         dd      0
r3_sti:         dd      0
r3_popfd:       dd      0

%include "pm_end.inc"
