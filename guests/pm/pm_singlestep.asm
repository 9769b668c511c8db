; pm_singlestep.asm - the trap flag and the debug registers.
;
; A #DB hook logs the saved EIP and DR6 of every debug exception (then
; clears DR6, and sets RF after an instruction breakpoint so the
; instruction can run).  Checked: with TF set by POPF the first trap comes
; after the next instruction; one trap per instruction (LOOP taken three
; times counts three), EIP after the instruction, DR6.BS; the POPF that
; clears TF still traps; the handler itself is not stepped (TF cleared on
; entry); MOV SS holds the trap until after the next instruction; a DR0
; instruction breakpoint (fault: EIP at the instruction, DR6.B0, RF lets it
; run, hit again on the next pass); a DR1 data breakpoint on writes (trap:
; EIP after the write, DR6.B1, reads ignored) and on reads and writes; DR2
; and DR3 data breakpoints of 2 and 1 bytes (only overlapping accesses of
; the watched kind hit); a DR3 instruction breakpoint on a jump target.

%define GUEST_NAME "pm_singlestep"

MAX_LOG         equ     32
DR6_BITS        equ     0x400F          ; BS, B3-B0

; Check log entry %1: EIP minus label %2 is %3, DR6 & DR6_BITS is %4.
%macro CHECK_STEP 5
%defstr %%n %1
%strcat %%eip "#DB ", %%n, ": EIP minus the address of ", %5
%strcat %%dr6 "#DB ", %%n, ": DR6 & 0x400F"
        mov     eax, [eip_log + (%1 - 1) * 4]
        sub     eax, %2
        CHECK   eax, %3, %%eip
        mov     eax, [dr6_log + (%1 - 1) * 4]
        and     eax, DR6_BITS
        CHECK   eax, %4, %%dr6
%endmacro

%macro TF_ON 0
        pushfd
        or      dword [esp], EFLAGS_TF
        popfd
%endmacro

%include "pm.inc"

main32:
        xor     eax, eax
        mov     dr6, eax
        mov     dr7, eax
        mov     dword [exc_hook], db_hook

; ---- single-step a known sequence
        TF_ON
.s1:    mov     eax, 1                  ; #DB 1 after it
.s2:    add     eax, 2
.s3:    mov     ecx, 3
.s4:    loop    .s4                     ; #DB 4, 5, 6
.s5:    jmp     .s6
        nop
.s6:    pushfd
.s7:    and     dword [esp], ~EFLAGS_TF
.s8:    popfd                           ; TF was set as it began: #DB 10
.s9:    mov     [saved_eax], eax
        CHECK   [steps], 10, "single-stepped instructions"
        CHECK   [saved_eax], 3, "EAX after the stepped sequence"
        CHECK_STEP 1, .s2, 0, 0x4000, "add"
        CHECK_STEP 2, .s3, 0, 0x4000, "mov ecx"
        CHECK_STEP 3, .s4, 0, 0x4000, "loop"
        CHECK_STEP 4, .s4, 0, 0x4000, "loop"
        CHECK_STEP 5, .s4, 0, 0x4000, "loop"
        CHECK_STEP 6, .s5, 0, 0x4000, "jmp"
        CHECK_STEP 7, .s6, 0, 0x4000, "pushfd"
        CHECK_STEP 8, .s7, 0, 0x4000, "and"
        CHECK_STEP 9, .s8, 0, 0x4000, "popfd"
        CHECK_STEP 10, .s9, 0, 0x4000, "the mov after popfd"

; ---- MOV SS holds the trap for one instruction
        mov     dword [steps], 0
        TF_ON
.m1:    mov     ax, ss                  ; #DB 1 after it
.m2:    mov     ss, ax                  ; no #DB here ...
.m3:    nop                             ; ... but after this one: #DB 2
.m4:    pushfd
        and     dword [esp], ~EFLAGS_TF
        popfd
        CHECK   [steps], 5, "single-stepped instructions around mov ss"
        CHECK_STEP 1, .m2, 0, 0x4000, "mov ss"
        CHECK_STEP 2, .m4, 0, 0x4000, "pushfd (none between mov ss and nop)"

; ---- DR0: instruction breakpoint
        mov     dword [steps], 0
        mov     eax, .bp
        mov     dr0, eax
        mov     eax, 0x00000001         ; L0, execute, 1 byte
        mov     dr7, eax
        xor     ebx, ebx
        mov     ecx, 2
.pass:  xor     eax, eax
.bp:    mov     eax, 5                  ; #DB before it, on each pass
        add     ebx, eax
        loop    .pass
        xor     eax, eax
        mov     dr7, eax
        CHECK   [steps], 2, "DR0 breakpoint hits in two passes"
        CHECK   ebx, 10, "the breakpointed instruction ran on both passes: sum"
        CHECK_STEP 1, .bp, 0, 0x0001, "the breakpointed mov"
        CHECK_STEP 2, .bp, 0, 0x0001, "the breakpointed mov"

; ---- DR1: data breakpoint on writes, then on reads and writes
        mov     dword [steps], 0
        mov     eax, watched
        mov     dr1, eax
        mov     eax, 0x00D00004         ; L1, write, 4 bytes
        mov     dr7, eax
        mov     eax, [watched]          ; a read: no #DB
.w1:    mov     dword [watched], 7
.w2:    mov     eax, 0x00F00004         ; L1, read or write, 4 bytes
        mov     dr7, eax
.r1:    mov     eax, [watched + 2]
.r2:    xor     eax, eax
        mov     dr7, eax
        CHECK   [steps], 2, "DR1 data breakpoint hits"
        CHECK_STEP 1, .w2, 0, 0x0002, "the instruction after the write"
        CHECK_STEP 2, .r2, 0, 0x0002, "the instruction after the read"

; ---- DR2: writes to 2 bytes (G2); DR3: reads and writes of 1 byte (L3);
; accesses next to them do not hit. (The SDM masks the low bits of an
; unaligned address; QEMU does not: the address here is aligned. QEMU
; also reports a hit for an unaligned access next to the byte watched: the
; read next to DR3's byte is aligned.)
        mov     dword [steps], 0
        mov     eax, watched2
        mov     dr2, eax
        mov     eax, watched3
        mov     dr3, eax
        mov     eax, 0x35000060         ; DR2: write, 2 bytes; DR3: access, 1 byte
        mov     dr7, eax
        mov     byte [watched2 + 2], 1  ; past DR2's two bytes
        mov     eax, [watched3 + 4]     ; past DR3's byte
        mov     ax, [watched2]          ; a read: DR2 watches writes
.d1:    mov     byte [watched2 + 1], 2  ; #DB (B2) after it
.d2:    mov     ax, [watched3 - 1]      ; its second byte is DR3's: #DB (B3)
.d3:    xor     eax, eax
        mov     dr7, eax
        CHECK   [steps], 2, "DR2 and DR3 data breakpoint hits"
        CHECK_STEP 1, .d2, 0, 0x0004, "the instruction after the byte write"
        CHECK_STEP 2, .d3, 0, 0x0008, "the instruction after the word read"

; ---- DR3: an instruction breakpoint (G3) on a jump target, after the code
; around it ran once
        mov     dword [steps], 0
        xor     ebx, ebx
        mov     eax, .x2
        mov     dr3, eax
        mov     eax, 0x00000080         ; G3, execute
        mov     dr7, eax
        mov     ecx, 2
.x1:    jmp     .x2
        nop
.x2:    inc     ebx                     ; #DB before it, twice
        loop    .x1
        xor     eax, eax
        mov     dr7, eax
        CHECK   [steps], 2, "DR3 instruction breakpoint hits"
        CHECK   ebx, 2, "the breakpointed inc ran twice"
        CHECK_STEP 1, .x2, 0, 0x0008, "the breakpointed inc"
        CHECK_STEP 2, .x2, 0, 0x0008, "the breakpointed inc"
        jmp     finish

; The #DB hook: log EIP and DR6, clear DR6, RF after DR0 (instruction).
db_hook:
        xor     eax, eax
        cmp     dword [ebp + F_VEC], 1
        jne     .done
        mov     ecx, [steps]
        cmp     ecx, MAX_LOG
        jae     .runaway
        mov     eax, [ebp + F_EIP]
        mov     [eip_log + ecx * 4], eax
        mov     eax, dr6
        mov     [dr6_log + ecx * 4], eax
        inc     dword [steps]
        mov     edx, [ebp + F_EIP]      ; an instruction breakpoint (a fault:
        cmp     edx, main32.bp          ; EIP on it): resume with RF
        je      .rf
        cmp     edx, main32.x2
        jne     .clear
.rf:    or      dword [ebp + F_EFLAGS], EFLAGS_RF
.clear:
        xor     eax, eax
        mov     dr6, eax
        inc     eax
.done:
        ret
.runaway:                               ; stop stepping and breaking
        inc     dword [steps]
        xor     eax, eax
        mov     dr7, eax
        and     dword [ebp + F_EFLAGS], ~(EFLAGS_TF | EFLAGS_RF)
        inc     eax
        ret

        align   4
steps:          dd      0
saved_eax:      dd      0
watched:        dd      0
watched2:       dd      0
watched3:       dd      0, 0
eip_log:        times MAX_LOG dd 0
dr6_log:        times MAX_LOG dd 0

%include "pm_end.inc"
