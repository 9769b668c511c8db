; pm_rings.asm - privilege levels: ring 0 -> ring 3 with IRET (IOPL 0) and
; with RETF (IOPL 3), ring 3 -> ring 0 through a call gate with two
; parameters copied to the ring-0 stack taken from the TSS, RETF 8 back;
; INT n from ring 3 through a DPL-3 interrupt gate; #GP for a DPL-0 gate,
; privileged instructions (HLT, CLI with IOPL 0, MOV to and from CR0,
; LGDT) and denied ports; POPF at CPL 3 leaving IF and IOPL alone; the TSS
; I/O permission bitmap (port 0xE9 allowed, so ring 3 prints its own
; checks; port 0x80 and the word port 0xE8 denied); data segment registers
; nulled on a return to an outer ring; a conforming code segment keeping
; CPL 3.

%define GUEST_NAME "pm_rings"

SEL_GATE_PARAMS equ     SEL_GUEST + 0x00 | 3 ; call gate, DPL 3, 2 dwords
SEL_GATE_FINISH equ     SEL_GUEST + 0x08 | 3 ; call gate, DPL 3, to finish
SEL_GATE_DPL0   equ     SEL_GUEST + 0x10 | 3 ; call gate, DPL 0
SEL_CONFORMING  equ     SEL_GUEST + 0x18 | 3 ; conforming code, DPL 0
VEC_USER        equ     0x40            ; DPL-3 interrupt gate
VEC_KERNEL      equ     0x41            ; DPL-0 interrupt gate

%macro GUEST_GDT 0
        GATE    gate_params, SEL_CODE32, 0xEC, 2
        GATE    gate_finish, SEL_CODE32, 0xEC, 0
        GATE    gate_finish, SEL_CODE32, 0x8C, 0
        DESC    0, 0xFFFFF, 0x9E, 0xC
%endmacro

%include "pm.inc"

main32:
        call    init_tss
        mov     eax, DEBUGCON
        call    io_allow
        mov     ecx, VEC_USER
        mov     eax, int_user
        mov     bl, 0xEE                ; interrupt gate, DPL 3
        call    set_gate
        mov     ax, SEL_DATA32_R3       ; FS: DPL 3, kept; DS ES GS: DPL 0
        mov     fs, ax
        push    dword SEL_DATA32_R3     ; IRET to ring 3, IOPL 0
        push    dword RING3_STACK
        push    dword 0x00000002
        push    dword SEL_CODE32_R3
        push    dword ring3_a
        iretd

        bits    32
ring3_a:
        mov     ebx, ds
        mov     ecx, es
        mov     edx, fs
        mov     esi, cs
        mov     edi, ss
        mov     ax, SEL_DATA32_R3
        mov     ds, ax
        mov     es, ax
        SAY     "ring 3 prints through port 0xE9, allowed by the I/O bitmap"
        movzx   esi, si
        CHECK   esi, SEL_CODE32_R3, "iret to ring 3: CS"
        movzx   edi, di
        CHECK   edi, SEL_DATA32_R3, "iret to ring 3: SS"
        movzx   ebx, bx
        CHECK   ebx, 0, "iret to ring 3: DS (DPL 0) nulled"
        movzx   ecx, cx
        CHECK   ecx, 0, "iret to ring 3: ES (DPL 0) nulled"
        movzx   edx, dx
        CHECK   edx, SEL_DATA32_R3, "iret to ring 3: FS (DPL 3) kept"

; ---- call gate with two parameters, RETF 8 back
        mov     ebp, esp
        push    dword 0x11111111
        push    dword 0x22222222
.call:  call    SEL_GATE_PARAMS:0
.back:  mov     ebx, ds
        mov     ecx, esp
        mov     ax, SEL_DATA32_R3
        mov     ds, ax
        sub     ecx, ebp
        CHECK   ecx, 0, "retf 8 to ring 3: ESP moved by"
        movzx   ebx, bx
        CHECK   ebx, 0, "retf to ring 3: DS (DPL 0 loaded at ring 0) nulled"
        CHECK   [gate_cs], SEL_CODE32, "call gate: CS in ring 0"
        CHECK   [gate_ss], SEL_DATA32, "call gate: SS0 from the TSS"
        CHECK   [gate_esp], RING0_STACK - 24, "call gate: ESP0 from the TSS, less 6 dwords"
        mov     eax, [gate_frame]
        sub     eax, .back
        CHECK   eax, 0, "call gate frame: EIP minus the return address"
        CHECK   [gate_frame + 4], SEL_CODE32_R3, "call gate frame: CS"
        CHECK   [gate_frame + 8], 0x22222222, "call gate frame: parameter pushed last"
        CHECK   [gate_frame + 12], 0x11111111, "call gate frame: parameter pushed first"
        lea     ecx, [ebp - 8]
        CHECK   [gate_frame + 16], ecx, "call gate frame: ring-3 ESP"
        CHECK   [gate_frame + 20], SEL_DATA32_R3, "call gate frame: SS"

; ---- INT n from ring 3
        push    dword 0x00000883        ; OF SF CF: known flags for the frame
        popfd
.int:   int     VEC_USER
        CHECK   [int_esp], RING0_STACK - 20, "int 0x40 from ring 3: ring-0 ESP, less 5 dwords"
        mov     eax, [int_frame]
        sub     eax, .int
        CHECK   eax, 2, "int 0x40 frame: EIP minus the int's address"
        CHECK   [int_frame + 4], SEL_CODE32_R3, "int 0x40 frame: CS"
        CHECK   [int_frame + 8], 0x00000883, "int 0x40 frame: EFLAGS"
        CHECK   [int_frame + 12], ebp, "int 0x40 frame: ESP"
        CHECK   [int_frame + 16], SEL_DATA32_R3, "int 0x40 frame: SS"
        EXPECT  .int2_r
.int2:  int     VEC_KERNEL
.int2_r: CHECK_EXC 13, VEC_KERNEL * 8 + 2, .int2, 0, "int 0x41 (DPL 0 gate) from ring 3"
        EXPECT  .gate0_r
.gate0: call    SEL_GATE_DPL0:0
.gate0_r: CHECK_EXC 13, SEL_GATE_DPL0 & 0xFFF8, .gate0, 0, "call through a DPL 0 call gate"
        call    SEL_CONFORMING:conforming
        CHECK   eax, SEL_CONFORMING, "far call to conforming DPL 0 code: CS keeps RPL 3"

; ---- privileged and IOPL-sensitive instructions at CPL 3, IOPL 0
        EXPECT  .p1_r
.p1:    hlt
.p1_r:  CHECK_EXC 13, 0, .p1, 0, "hlt at CPL 3"
        EXPECT  .p2_r
.p2:    cli
.p2_r:  CHECK_EXC 13, 0, .p2, 0, "cli at CPL 3, IOPL 0"
        EXPECT  .p3_r
.p3:    mov     cr0, eax
.p3_r:  CHECK_EXC 13, 0, .p3, 0, "mov cr0, eax at CPL 3"
        EXPECT  .p4_r
.p4:    mov     eax, cr0
.p4_r:  CHECK_EXC 13, 0, .p4, 0, "mov eax, cr0 at CPL 3"
        EXPECT  .p5_r
.p5:    lgdt    [gdtr]
.p5_r:  CHECK_EXC 13, 0, .p5, 0, "lgdt at CPL 3"
        pushfd
        or      dword [esp], 0x3200     ; IOPL 3 and IF: ignored at CPL 3
        popfd
        pushfd
        pop     eax
        and     eax, 0x3200
        CHECK   eax, 0, "popf at CPL 3, IOPL 0: IF and IOPL unchanged"
        EXPECT  .io1_r
.io1:   out     0x80, al
.io1_r: CHECK_EXC 13, 0, .io1, 0, "out 0x80 denied by the I/O bitmap"
        EXPECT  .io2_r
.io2:   in      al, 0x80
.io2_r: CHECK_EXC 13, 0, .io2, 0, "in from 0x80 denied by the I/O bitmap"
        EXPECT  .io3_r
.io3:   out     0xE8, ax
.io3_r: CHECK_EXC 13, 0, .io3, 0, "word out to 0xE8 (0xE8 denied, 0xE9 allowed)"
        call    SEL_GATE_FINISH:0       ; phase 2: ring 0, then RETF to ring 3

; ---- IOPL 3
ring3_b:
        mov     ax, SEL_DATA32_R3
        mov     ds, ax
        mov     es, ax
        pushfd
        pop     eax
        and     eax, 0x3000
        CHECK   eax, 0x3000, "retf to ring 3 with IOPL 3: EFLAGS.IOPL"
        mov     ebx, [exc_count]
        cli
        out     0x80, al                ; CPL <= IOPL: the bitmap is not read
        CHECK   [exc_count], ebx, "cli and out 0x80 at CPL 3, IOPL 3: exceptions"
        EXPECT  .p6_r
.p6:    hlt
.p6_r:  CHECK_EXC 13, 0, .p6, 0, "hlt at CPL 3, IOPL 3"
        call    SEL_GATE_FINISH:0

; Call gate target (ring 0): record the stack, load a DPL-0 DS, RETF 8.
gate_params:
        mov     [gate_esp], esp
        mov     [gate_cs], cs
        mov     [gate_ss], ss
        mov     esi, esp
        mov     edi, gate_frame
        mov     ecx, 6
        rep movsd
        mov     ax, SEL_DATA32
        mov     ds, ax
        retf    8

; Call gate target (ring 0): the first time, IOPL 3 and RETF to ring3_b;
; the second time, the end.
gate_finish:
        mov     ax, SEL_DATA32
        mov     ds, ax
        mov     es, ax
        cmp     dword [phase], 0
        jne     finish
        inc     dword [phase]
        mov     eax, [esp + 4]
        CHECK   eax, SEL_CODE32_R3, "call gate without parameters: CS"
        pushfd
        or      dword [esp], 0x3000
        popfd
        push    dword SEL_DATA32_R3
        push    dword RING3_STACK
        push    dword SEL_CODE32_R3
        push    dword ring3_b
        retf

; INT 0x40 handler (ring 0): record the stack, IRET.
int_user:
        mov     [int_esp], esp
        push    esi
        push    edi
        push    ecx
        lea     esi, [esp + 12]
        mov     edi, int_frame
        mov     ecx, 5
        rep movsd
        pop     ecx
        pop     edi
        pop     esi
        iretd

; Conforming code: runs at CPL 3; returns CS in EAX.
conforming:
        mov     eax, cs
        movzx   eax, ax
        retf

phase:          dd      0
gate_esp:       dd      0
gate_cs:        dd      0
gate_ss:        dd      0
gate_frame:     times 6 dd 0
int_esp:        dd      0
int_frame:      times 5 dd 0

%include "pm_end.inc"
