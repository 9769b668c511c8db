; pm_v86.asm - a ring-0 monitor runs a real-mode routine in virtual-8086
; mode, with paging on (linear page 0x12000 mapped to frame 0x30000).
;
; Pass 1, IOPL 0: IRET with EFLAGS.VM enters the routine, which prints a
; line through OUT 0xE9 (allowed by the TSS I/O bitmap, which V86 I/O always
; consults), writes 1234:0010 (linear 0x12350, frame 0x30350), and runs
; INT 21h, CLI, STI and HLT.  Each raises #GP(0) to the monitor (a hook of
; the #GP handler), which emulates INT through the real-mode IVT (its
; handler's IRET faults and is emulated too), CLI and STI with a virtual IF,
; and ends V86 at the HLT.  Pass 2, IOPL 3: INT 40h goes through the IDT's
; DPL-3 gate to ring 0 with the V86 frame (ES DS FS GS saved, the data
; segment registers null in the handler), CLI and STI do not fault, HLT
; still does.

%define GUEST_NAME "pm_v86"

PD              equ     0x10000
PT0             equ     0x11000
V86_STACK       equ     0x4000          ; SS:SP = 0000:4000
V86_PAGE        equ     0x12000         ; linear page of 1234:0010
V86_FRAME       equ     0x30000         ; ... mapped to this frame
VEC_IDT         equ     0x40            ; DPL-3 interrupt gate
VEC_IVT         equ     0x21            ; emulated through the IVT

%include "pm.inc"

main32:
        call    init_tss
        mov     eax, DEBUGCON
        call    io_allow
        mov     ecx, VEC_IDT
        mov     eax, int_from_v86
        mov     bl, 0xEE
        call    set_gate
        mov     dword [VEC_IVT * 4], v86_int21 ; IVT: 0000:v86_int21
        mov     edi, PD                 ; identity-map 0-4 MiB, user pages
        mov     ecx, 2 * 1024
        xor     eax, eax
        rep stosd
        mov     dword [PD], PT0 | 7
        mov     edi, PT0
        mov     eax, 7
.pte:   stosd
        add     eax, 0x1000
        cmp     edi, PT0 + 4096
        jb      .pte
        mov     dword [PT0 + (V86_PAGE >> 12) * 4], V86_FRAME | 7
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax
        mov     dword [exc_hook], v86_monitor

; ---- pass 1: IOPL 0
        mov     [monitor_esp], esp
        mov     dword [monitor_next], .pass1_done
        push    dword 0x0789            ; GS
        push    dword 0x0456            ; FS
        push    dword 0x0123            ; DS
        push    dword 0                 ; ES
        push    dword 0                 ; SS
        push    dword V86_STACK         ; ESP
        push    dword EFLAGS_VM | 2     ; EFLAGS: VM, IOPL 0
        push    dword 0                 ; CS
        push    dword v86_pass1         ; EIP
        iretd
.pass1_done:
        movzx   eax, word [v86_ds0]
        CHECK   eax, 0x0123, "V86 DS from the IRET frame"
        CHECK   [first_gp_err], 0, "INT 21h in V86 with IOPL 0: #GP error code"
        mov     eax, [first_gp_ip]
        sub     eax, v86_pass1.int21
        CHECK   eax, 0, "its saved IP, minus the INT's"
        movzx   eax, word [first_gp_cs]
        CHECK   eax, 0, "its saved CS"
        movzx   eax, word [first_gp_ds_in]
        CHECK   eax, 0, "DS in the ring-0 handler"
        movzx   eax, word [first_gp_frame]
        CHECK   eax, 0x0000, "frame: V86 ES"
        movzx   eax, word [first_gp_frame + 4]
        CHECK   eax, 0x1234, "frame: V86 DS"
        movzx   eax, word [first_gp_frame + 8]
        CHECK   eax, 0x0456, "frame: V86 FS"
        movzx   eax, word [first_gp_frame + 12]
        CHECK   eax, 0x0789, "frame: V86 GS"
        mov     eax, [first_gp_eflags]
        and     eax, EFLAGS_VM | 0x3000
        CHECK   eax, EFLAGS_VM, "frame: EFLAGS & (VM|IOPL)"
        movzx   eax, word [v86_ax]
        CHECK   eax, 0x0141, "AX after the emulated INT 21h (its handler adds 0x100)"
        CHECK   [emulated_int], 1, "INTs emulated"
        CHECK   [emulated_iret], 1, "IRETs emulated"
        CHECK   [emulated_clisti], 2, "CLI and STI emulated"
        CHECK   [virtual_if], 1, "virtual IF after STI"
        movzx   eax, word [V86_FRAME + 0x350]
        CHECK   eax, 0xCAFE, "V86 write to 1234:0010 reached frame 0x30350"
        mov     eax, [end_ip]
        sub     eax, v86_pass1.hlt
        CHECK   eax, 0, "HLT: saved IP minus the HLT's"

; ---- pass 2: IOPL 3
        mov     dword [monitor_next], .pass2_done
        mov     [monitor_esp], esp
        push    dword 0x0789
        push    dword 0x0456
        push    dword 0x0AAA
        push    dword 0x0BBB
        push    dword 0
        push    dword V86_STACK
        push    dword EFLAGS_VM | 0x3000 | 2
        push    dword 0
        push    dword v86_pass2
        iretd
.pass2_done:
        mov     eax, [idt_esp]
        CHECK   eax, RING0_STACK - 36, "INT 40h from V86, IOPL 3: ring-0 ESP, less 9 dwords"
        movzx   eax, word [idt_ds_in]
        CHECK   eax, 0, "DS in the ring-0 handler"
        mov     eax, [idt_frame]
        sub     eax, v86_pass2.int40
        CHECK   eax, 2, "frame: EIP minus the INT's"
        movzx   eax, word [idt_frame + 4]
        CHECK   eax, 0, "frame: CS"
        mov     eax, [idt_frame + 8]
        and     eax, EFLAGS_VM | 0x3000
        CHECK   eax, EFLAGS_VM | 0x3000, "frame: EFLAGS & (VM|IOPL)"
        movzx   eax, word [idt_frame + 12]
        CHECK   eax, V86_STACK, "frame: ESP"
        movzx   eax, word [idt_frame + 16]
        CHECK   eax, 0, "frame: SS"
        movzx   eax, word [idt_frame + 20]
        CHECK   eax, 0x0BBB, "frame: ES"
        movzx   eax, word [idt_frame + 24]
        CHECK   eax, 0x0AAA, "frame: DS"
        movzx   eax, word [idt_frame + 28]
        CHECK   eax, 0x0456, "frame: FS"
        movzx   eax, word [idt_frame + 32]
        CHECK   eax, 0x0789, "frame: GS"
        CHECK   [emulated_clisti], 2, "CLI and STI with IOPL 3 do not fault: emulated"
        mov     eax, [end_ip]
        sub     eax, v86_pass2.hlt
        CHECK   eax, 0, "HLT with IOPL 3 still faults: saved IP minus the HLT's"
        jmp     finish

; The #GP hook: emulate INT n, IRET, CLI, STI for V86; HLT ends V86.
v86_monitor:
        xor     eax, eax
        cmp     dword [ebp + F_VEC], 13
        jne     .done
        test    dword [ebp + F_EFLAGS], EFLAGS_VM
        jz      .done
        movzx   esi, word [ebp + F_CS]
        shl     esi, 4
        movzx   eax, word [ebp + F_EIP]
        add     esi, eax                ; the faulting instruction
        movzx   edi, word [ebp + F_SS]
        shl     edi, 4
        movzx   ecx, word [ebp + F_ESP]
        mov     al, [esi]
        cmp     al, 0xCD
        je      .int
        cmp     al, 0xCF
        je      .iret
        cmp     al, 0xFA
        je      .cli
        cmp     al, 0xFB
        je      .sti
        cmp     al, 0xF4
        je      .hlt
        xor     eax, eax                ; anything else: not expected
.done:
        ret
.int:
        cmp     dword [emulated_int], 0
        jne     .pushed
        mov     eax, [ebp + F_ERR]
        mov     [first_gp_err], eax
        mov     eax, [ebp + F_EIP]
        mov     [first_gp_ip], eax
        mov     eax, [ebp + F_CS]
        mov     [first_gp_cs], eax
        mov     eax, [ebp + F_EFLAGS]
        mov     [first_gp_eflags], eax
        mov     eax, [exc_ds]
        mov     [first_gp_ds_in], eax
        push    esi
        push    edi
        push    ecx
        lea     esi, [ebp + F_V86_ES]
        mov     edi, first_gp_frame
        mov     ecx, 4
        rep movsd
        pop     ecx
        pop     edi
        pop     esi
.pushed:
        inc     dword [emulated_int]
        sub     cx, 6                   ; FLAGS, CS, IP on the V86 stack
        mov     [ebp + F_ESP], cx
        add     edi, ecx
        mov     ax, [ebp + F_EIP]
        add     ax, 2
        mov     [edi], ax
        mov     ax, [ebp + F_CS]
        mov     [edi + 2], ax
        mov     ax, [ebp + F_EFLAGS]
        and     ax, 0xFFFF & ~EFLAGS_IF
        cmp     byte [virtual_if], 0
        je      .flags
        or      ax, EFLAGS_IF
.flags: mov     [edi + 4], ax
        mov     byte [virtual_if], 0
        movzx   eax, byte [esi + 1]
        movzx   edx, word [eax * 4]
        mov     [ebp + F_EIP], edx
        movzx   edx, word [eax * 4 + 2]
        mov     [ebp + F_CS], edx
        jmp     .handled
.iret:
        inc     dword [emulated_iret]
        add     edi, ecx
        add     cx, 6
        mov     [ebp + F_ESP], cx
        movzx   eax, word [edi]
        mov     [ebp + F_EIP], eax
        movzx   eax, word [edi + 2]
        mov     [ebp + F_CS], eax
        movzx   eax, word [edi + 4]
        test    eax, EFLAGS_IF
        setnz   [virtual_if]
        and     eax, ~0x3200            ; IOPL and the real IF stay
        mov     edx, [ebp + F_EFLAGS]
        and     edx, 0xFFFF3200
        or      eax, edx
        mov     [ebp + F_EFLAGS], eax
        jmp     .handled
.cli:
        mov     byte [virtual_if], 0
        jmp     .one_byte
.sti:
        mov     byte [virtual_if], 1
.one_byte:
        inc     dword [emulated_clisti]
        inc     word [ebp + F_EIP]
.handled:
        mov     eax, 1
        ret
.hlt:
        mov     eax, [ebp + F_EIP]
        mov     [end_ip], eax
        mov     esp, [monitor_esp]
        jmp     [monitor_next]

; INT 40h from V86 with IOPL 3: record the frame, return.
int_from_v86:
        mov     [ss:idt_ds_in], ds
        mov     [ss:idt_esp], esp
        push    ds
        push    es
        pushad
        mov     ax, SEL_DATA32
        mov     ds, ax
        mov     es, ax
        lea     esi, [esp + 40]
        mov     edi, idt_frame
        mov     ecx, 9
        rep movsd
        popad
        pop     es
        pop     ds
        iretd

        bits    16
v86_pass1:
        mov     ax, ds
        mov     [es:v86_ds0], ax        ; ES = 0
        mov     si, v86_hello
.print: cs lodsb
        test    al, al
        jz      .printed
        out     DEBUGCON, al
        jmp     .print
.printed:
        mov     ax, 0x1234
        mov     ds, ax
        mov     word [0x0010], 0xCAFE
        mov     ax, 0x0041
.int21: int     VEC_IVT
        mov     [es:v86_ax], ax
        cli
        sti
.hlt:   hlt

v86_int21:
        add     ax, 0x0100
        iret

v86_pass2:
.int40: int     VEC_IDT
        cli
        sti
        cli
.hlt:   hlt

v86_hello:      db      "this line is printed from virtual-8086 mode", 10, 0

        bits    32
monitor_esp:    dd      0
monitor_next:   dd      0
v86_ds0:        dd      0
v86_ax:         dd      0
first_gp_err:   dd      -1
first_gp_ip:    dd      0
first_gp_cs:    dd      -1
first_gp_eflags: dd     0
first_gp_ds_in: dd      -1
first_gp_frame: times 4 dd -1
emulated_int:   dd      0
emulated_iret:  dd      0
emulated_clisti: dd     0
virtual_if:     dd      0
end_ip:         dd      0
idt_esp:        dd      0
idt_ds_in:      dd      -1
idt_frame:      times 9 dd -1

%include "pm_end.inc"
