; pm_strict.asm - the checks that QEMU's TCG does not model (it runs this
; guest, but these checks fail there; tests/test_pm_guests.py names them):
; segment limit, type and null-selector checks on data and stack accesses
; in protected mode (read-only data, writes through CS, byte/dword limits,
; expand-down, SS limit); the same limit in real mode (a word at offset
; FFFFh raises interrupt 13, or 12 through SS); ICEBP (F1) as a #DB trap;
; #GP(0) for CR0 values with NW but not CD and with PG but not PE; a #TS
; raised after a task switch's commit point saves the new task's first
; EIP (QEMU saves the EIP of the JMP); the TSS's T bit (#DB with DR6.BT).

%define GUEST_NAME "pm_strict"
%define REAL_MAIN

SEL_RO_DATA     equ     SEL_GUEST + 0x00 ; data, read-only
SEL_4K_DATA     equ     SEL_GUEST + 0x08 ; data, limit 0xFFF
SEL_DOWN_DATA   equ     SEL_GUEST + 0x10 ; data, expand-down, limit 0xFFF
SEL_64K_STACK   equ     SEL_GUEST + 0x18 ; data, limit 0xFFFF, B=1
SEL_TSS_F       equ     SEL_GUEST + 0x20 ; a task whose FS is past the GDT
SEL_TSS_G       equ     SEL_GUEST + 0x28 ; a task with the T bit
TSS_F           equ     0x2300
TSS_G           equ     0x2380
STACK_F         equ     0x4400
STACK_G         equ     0x4000
BAD_SEL         equ     0xFFF8

%macro GUEST_GDT 0
        DESC    0, 0xFFFFF, 0x90, 0xC
        DESC    0, 0xFFF, 0x92, 0x4
        DESC    0, 0xFFF, 0x96, 0x4
        DESC    0, 0xFFFF, 0x92, 0x4
        DESC    TSS_F, 0x67, 0x89, 0x0
        DESC    TSS_G, 0x67, 0x89, 0x0
%endmacro

%macro LOAD 2                           ; segment register, selector
        mov     ax, %2
        mov     %1, ax
%endmacro

; Real mode: expect interrupt 12 or 13 from instruction %1; resume at %2.
; (With no interrupt, the saved IP reads as %1 + 0x8000.)
%macro RM_EXPECT 2
        mov     word [rm_resume], %2
        mov     word [rm_vec], -1
        mov     word [rm_ip], %1 + 0x8000
%endmacro

%include "pm.inc"

        bits    16
real_main:
        mov     word [12 * 4], rm_fault12
        mov     word [12 * 4 + 2], 0
        mov     word [13 * 4], rm_fault13
        mov     word [13 * 4 + 2], 0
        RM_EXPECT .f1, .r1
.f1:    mov     ax, [0xFFFF]
.r1:    mov     ax, [rm_vec]
        mov     [rm1_vec], ax
        mov     ax, [rm_ip]
        sub     ax, .f1
        mov     [rm1_ip], ax
        mov     bp, 0xFFFF
        RM_EXPECT .f2, .r2
.f2:    mov     ax, [bp]
.r2:    mov     ax, [rm_vec]
        mov     [rm2_vec], ax
        mov     ax, [rm_ip]
        sub     ax, .f2
        mov     [rm2_ip], ax
        ENTER_PM32 main32

; Interrupts 12 and 13 in real mode: record the vector and saved IP,
; resume at [rm_resume]. (16-bit code: ENTER_PM32 leaves nasm in bits 32.)
        bits    16
rm_fault12:
        mov     word [cs:rm_vec], 12
        jmp     rm_fault
rm_fault13:
        mov     word [cs:rm_vec], 13
rm_fault:
        push    bp
        mov     bp, sp
        push    ax
        mov     ax, [bp + 2]
        mov     [cs:rm_ip], ax
        mov     ax, [cs:rm_resume]
        mov     [bp + 2], ax
        pop     ax
        pop     bp
        iret

        bits    32
main32:
        movsx   eax, word [rm1_vec]
        CHECK   eax, 13, "real mode, word read at DS:FFFF: interrupt"
        movsx   eax, word [rm1_ip]
        CHECK   eax, 0, "its saved IP minus the instruction's"
        movsx   eax, word [rm2_vec]
        CHECK   eax, 12, "real mode, word read at SS:FFFF: interrupt"
        movsx   eax, word [rm2_ip]
        CHECK   eax, 0, "its saved IP minus the instruction's"
        EXPECT  .db + 1                 ; also past it should it fault
.db:    int1
        CHECK_EXC 1, 0, .db, 1, "icebp (F1)"

; ---- accesses through segment registers
        LOAD    gs, 0
        EXPECT  .gp7_r
.gp7:   mov     eax, [gs:0]
.gp7_r: CHECK_EXC 13, 0, .gp7, 0, "read through a null GS"
        LOAD    fs, SEL_RO_DATA
        mov     eax, [fs:scratch]        ; reading is allowed
        EXPECT  .gp8_r
.gp8:   mov     [fs:scratch], eax
.gp8_r: CHECK_EXC 13, 0, .gp8, 0, "write to read-only data"
        EXPECT  .gp9_r
.gp9:   mov     [cs:scratch], eax
.gp9_r: CHECK_EXC 13, 0, .gp9, 0, "write through CS"
        LOAD    fs, SEL_4K_DATA
        mov     al, [fs:0xFFF]          ; the last byte is inside the limit
        EXPECT  .gp10_r
.gp10:  mov     al, [fs:0x1000]
.gp10_r: CHECK_EXC 13, 0, .gp10, 0, "read past a 4 KiB limit"
        EXPECT  .gp11_r
.gp11:  mov     eax, [fs:0xFFE]
.gp11_r: CHECK_EXC 13, 0, .gp11, 0, "dword read crossing the limit"
        LOAD    fs, SEL_DOWN_DATA
        mov     eax, [fs:0x7000]        ; above the limit: valid
        EXPECT  .gp12_r
.gp12:  mov     eax, [fs:0x800]
.gp12_r: CHECK_EXC 13, 0, .gp12, 0, "expand-down data at or below its limit"
        LOAD    ss, SEL_64K_STACK       ; ESP 0x7Cxx: the handler still fits
        mov     ebp, 0xFFFC
        mov     eax, [ebp]              ; inside the limit
        mov     ebp, 0x10000
        EXPECT  .ss2_r
.ss2:   mov     eax, [ebp]
.ss2_r: CHECK_EXC 12, 0, .ss2, 0, "stack read past a 64 KiB SS limit"
        mov     ebp, 0xFFFE
        EXPECT  .ss3_r
.ss3:   mov     eax, [ebp]
.ss3_r: LOAD    ss, SEL_DATA32
        CHECK_EXC 12, 0, .ss3, 0, "dword stack read crossing the SS limit"


; ---- invalid CR0 values
        mov     ebx, cr0
        mov     eax, ebx
        and     eax, ~0x60000000
        or      eax, 0x20000000         ; NW without CD
        EXPECT  .nw_r
.nw:    mov     cr0, eax
.nw_r:  mov     cr0, ebx
        CHECK_EXC 13, 0, .nw, 0, "mov cr0 with NW=1, CD=0"
        call    identity_paging         ; in case PG=1 PE=0 is wrongly taken
        mov     eax, ebx
        and     al, 0xFE
        or      eax, 0x80000000         ; PG without PE
        EXPECT  .pg_r
.pg:    mov     cr0, eax
.pg_r:  mov     ecx, cr0
        mov     cr0, ebx
        CHECK_EXC 13, 0, .pg, 0, "mov cr0 with PG=1, PE=0"
        xor     ecx, ebx
        CHECK   ecx, 0, "CR0 bits changed by the faulting writes"

; ---- tasks: a #TS after the commit point is the new task's (SDM 7.3)
        call    init_tss
        mov     edi, TSS_F
        mov     eax, task_f
        mov     edx, STACK_F
        call    make_tss
        mov     dword [TSS_F + 0x58], BAD_SEL   ; FS
        EXPECT  task_f_resume
        jmp     SEL_TSS_F:0
        CHECK_EXC 10, BAD_SEL, task_f, 0, "#TS for F's FS: saved EIP is F's first"
; ---- the T bit: #DB before the new task's first instruction, DR6.BT
        mov     edi, TSS_G
        mov     eax, task_g
        mov     edx, STACK_G
        call    make_tss
        mov     word [TSS_G + 0x64], 1
        xor     eax, eax
        mov     dr6, eax
        EXPECT  1
        jmp     SEL_TSS_G:0
        mov     dword [exc_resume], 0
        CHECK   [g_vec], 1, "T bit: #DB on entering the task"
        mov     eax, [g_eip]
        sub     eax, task_g
        CHECK   eax, 0, "T bit: #DB saved EIP, minus the task's first instruction"
        CHECK   [g_dr6], 0x8000, "T bit: DR6.BT"
        jmp     finish

task_f:
        jmp     $                       ; the #TS comes first
task_f_resume:
        jmp     SEL_TSS0:0
        jmp     $

task_g:                                 ; the #DB handler returns here
        mov     eax, [exc_vec]
        mov     [g_vec], eax
        mov     eax, [exc_eip]
        mov     [g_eip], eax
        mov     eax, dr6
        and     eax, 0x8000
        mov     [g_dr6], eax
        jmp     SEL_TSS0:0
        jmp     $

; A 32-bit TSS at EDI for flat ring-0 code: EIP = EAX, ESP = EDX, EFLAGS 2.
make_tss:
        pushad
        push    eax
        xor     eax, eax
        mov     ecx, 0x68 / 4
        rep stosd
        pop     eax
        sub     edi, 0x68
        mov     [edi + 0x20], eax
        mov     dword [edi + 0x24], 2
        mov     [edi + 0x38], edx
        mov     dword [edi + 0x4C], SEL_CODE32
        mov     eax, SEL_DATA32
        mov     [edi + 0x48], eax
        mov     [edi + 0x50], eax
        mov     [edi + 0x54], eax
        mov     [edi + 0x58], eax
        mov     [edi + 0x5C], eax
        mov     word [edi + 0x66], TSS_IOMAP
        popad
        ret

; Page directory at 0x10000 mapping 0-4 MiB to itself (page table 0x11000).
identity_paging:
        pushad
        mov     edi, 0x10000
        mov     ecx, 1024
        xor     eax, eax
        rep stosd
        mov     dword [0x10000], 0x11000 | 3
        mov     edi, 0x11000
        mov     eax, 3
.pte:   stosd
        add     eax, 0x1000
        cmp     edi, 0x12000
        jb      .pte
        mov     eax, 0x10000
        mov     cr3, eax
        popad
        ret


rm_resume:      dw      0
rm_vec:         dw      -1
rm_ip:          dw      0
rm1_vec:        dw      -1
rm1_ip:         dw      -1
rm2_vec:        dw      -1
rm2_ip:         dw      -1
scratch:        dd      0
g_vec:          dd      -1
g_eip:          dd      0
g_dr6:          dd      0

%include "pm_end.inc"
