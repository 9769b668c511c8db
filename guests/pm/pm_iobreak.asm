; pm_iobreak.asm - I/O breakpoints, CR4's reserved bits and the
; machine-check MSRs (the 686 model).
;
; I/O breakpoints (Intel SDM Vol. 3B 17.2.4: with CR4.DE, R/W = 10b makes
; breakpoint n an I/O breakpoint on port DRn, of 1, 2 or 4 bytes; 17.2.5:
; a port range overlapping the breakpoint's hits; 17.3.1.2: a trap after
; the instruction, DR6.Bn set). Checked: OUT and IN hit (#DB with EIP
; after the instruction, B0; the OUT's write reached the PIC's mask
; register before the handler ran); two breakpoints on the same port both
; reported (B0|B3); a word breakpoint hit by an access overlapping its
; second byte, missed by the word below it, hit by a dword covering it;
; REP OUTSB trapping after every element (EIP on the REP while ECX is left,
; after it for the last); INSB; no trap while the breakpoint is disabled
; (L/G clear), nor with CR4.DE clear, where R/W = 10b is undefined (17.2.4)
; and hvmm leaves such a breakpoint off.
; CR4 (Vol. 3A 2.5): setting a bit the CPU does not implement is #GP(0);
; the 686 has VME PVI TSD DE PSE MCE PGE PCE OSFXSR, not PAE OSXMMEXCPT.
; Machine checks (Vol. 3B ch. 15, the P6's MCA): CPUID's DE, MCE and MCA;
; MCG_CAP = 0x105 (5 banks, MCG_CTL_P) and read-only; MCG_STATUS,
; MCG_CTL and MCi_CTL read back; MCi_CTL takes all 0s or all 1s only;
; MCi_STATUS is 0 and takes only 0; MCi_MISC (not on the P6) and a sixth
; bank are #GP.

%define GUEST_NAME "pm_iobreak"

MAX_LOG         equ     16
DR6_BITS        equ     0x400F          ; BS, B3-B0
PIC2_IMR        equ     0xA1            ; read/write: the slave PIC's mask
FREE_PORT       equ     0x300           ; nothing there: reads all ones
CR4_DE          equ     1 << 3

MSR_MCG_CAP     equ     0x179
MSR_MCG_STATUS  equ     0x17A
MSR_MCG_CTL     equ     0x17B
MSR_MC1_CTL     equ     0x404
MSR_MC1_STATUS  equ     0x405
MSR_MC1_MISC    equ     0x407
MSR_MC5_CTL     equ     0x414

; Check log entry %1: EIP minus label %2 is 0, ECX is %3, DR6 & DR6_BITS
; is %4 (%5 names the instruction).
%macro CHECK_DB 5
%defstr %%n %1
%strcat %%eip "#DB ", %%n, ": EIP at ", %5
%strcat %%ecx "#DB ", %%n, ": ECX"
%strcat %%dr6 "#DB ", %%n, ": DR6 & 0x400F"
        mov     eax, [eip_log + (%1 - 1) * 4]
        sub     eax, %2
        CHECK   eax, 0, %%eip
        CHECK   [ecx_log + (%1 - 1) * 4], %3, %%ecx
        mov     eax, [dr6_log + (%1 - 1) * 4]
        and     eax, DR6_BITS
        CHECK   eax, %4, %%dr6
%endmacro

; DR7 (and DR6) off, the log empty, ECX 0.
%macro DB_RESET 0
        xor     eax, eax
        mov     dr7, eax
        mov     dr6, eax
        mov     [steps], eax
        xor     ecx, ecx
%endmacro

; A WRMSR/RDMSR expected to raise #GP(0).
%macro MSR_GP 3
        mov     ecx, %2
        xor     eax, eax
        not     eax
        mov     edx, eax
        EXPECT  %%gp
%%insn: %1
%%gp:   CHECK_EXC 13, 0, %%insn, 0, %3
%endmacro

%macro WRMSR 3
        mov     ecx, %1
        mov     eax, %2
        mov     edx, %3
        wrmsr
%endmacro

%include "pm.inc"

main32:
        mov     dword [exc_hook], db_hook
        mov     eax, cr4
        or      eax, CR4_DE
        mov     cr4, eax
        DB_RESET

; ---- OUT and IN on the PIC's mask register: B0, a trap after the write
        mov     eax, PIC2_IMR
        mov     dr0, eax
        mov     eax, 0x00020002         ; G0, I/O, 1 byte
        mov     dr7, eax
        mov     al, 0xFD
.o1:    out     PIC2_IMR, al            ; #DB 1 after it
.o2:    in      al, PIC2_IMR            ; #DB 2 after it
.o3:    mov     bl, al
        mov     al, 0xFF
        xor     edx, edx
        mov     dr7, edx
        out     PIC2_IMR, al            ; every IRQ masked again
        CHECK   [steps], 2, "OUT and IN: #DB count"
        CHECK_DB 1, .o2, 0, 0x0001, "the IN after the OUT"
        CHECK_DB 2, .o3, 0, 0x0001, "the instruction after the IN"
        CHECK   [port_log], 0xFD, "the OUT's value was in the mask register at the #DB"
        movzx   eax, bl
        CHECK   eax, 0xFD, "the IN read the mask"

; ---- two breakpoints on one port: DR6 reports both (B0, B3); DR1 watches
; another port and DR2 data: not reported
        DB_RESET
        mov     eax, PIC2_IMR
        mov     dr0, eax
        mov     eax, 0xA0               ; a word: 0xA0-0xA1
        mov     dr3, eax
        mov     eax, 0x21
        mov     dr1, eax
        mov     eax, watched
        mov     dr2, eax
        mov     eax, 0x6D2200AA         ; DR0 IO 1, DR1 IO 1, DR2 write 4, DR3 IO 2, all G
        mov     dr7, eax
        mov     dx, PIC2_IMR
        mov     al, 0xFF
.t1:    out     dx, al
.t2:    xor     eax, eax
        mov     dr7, eax
        CHECK   [steps], 1, "two breakpoints, one OUT: #DB count"
        CHECK_DB 1, .t2, 0, 0x0009, "the instruction after the OUT"

; ---- a word breakpoint on FREE_PORT + 2: an overlapping access hits, the
; word below misses, a dword covering it hits
        DB_RESET
        mov     eax, FREE_PORT + 2
        mov     dr2, eax
        mov     eax, 0x06000020         ; G2, I/O, 2 bytes
        mov     dr7, eax
        mov     dx, FREE_PORT
        in      ax, dx                  ; 0x300-0x301: no #DB
        out     dx, al                  ; 0x300: no #DB
        add     dx, 4
        out     dx, eax                 ; 0x304-0x307: no #DB
        mov     dx, FREE_PORT + 1
.r1:    in      ax, dx                  ; 0x301-0x302: #DB 1
.r2:    mov     dx, FREE_PORT
.r3:    in      eax, dx                 ; 0x300-0x303: #DB 2
.r4:    xor     eax, eax
        mov     dr7, eax
        CHECK   [steps], 2, "word breakpoint: #DB count"
        CHECK_DB 1, .r2, 0, 0x0004, "after IN AX from the port below"
        CHECK_DB 2, .r4, 0, 0x0004, "after IN EAX over it"

; ---- REP OUTSB: a trap after every element, EIP on the REP until the last
        DB_RESET
        mov     eax, FREE_PORT
        mov     dr1, eax
        mov     eax, 0x00200008         ; G1, I/O, 1 byte
        mov     dr7, eax
        mov     dx, FREE_PORT
        mov     esi, bytes_out
        mov     ecx, 3
        cld
.s1:    rep outsb                       ; #DB 1, 2, 3
.s2:    mov     ebx, esi
        xor     eax, eax
        mov     dr7, eax
        CHECK   [steps], 3, "REP OUTSB of 3: #DB count"
        CHECK_DB 1, .s1, 2, 0x0002, "the REP OUTSB (2 left)"
        CHECK_DB 2, .s1, 1, 0x0002, "the REP OUTSB (1 left)"
        CHECK_DB 3, .s2, 0, 0x0002, "the instruction after the REP"
        sub     ebx, bytes_out
        CHECK   ebx, 3, "REP OUTSB: ESI advanced by 3"

; ---- INSB from the PIC's mask register
        DB_RESET
        mov     eax, PIC2_IMR
        mov     dr0, eax
        mov     eax, 0x00020002         ; G0, I/O, 1 byte
        mov     dr7, eax
        mov     dx, PIC2_IMR
        mov     edi, bytes_in
.i1:    insb
.i2:    xor     eax, eax
        mov     dr7, eax
        CHECK   [steps], 1, "INSB: #DB count"
        CHECK_DB 1, .i2, 0, 0x0001, "the instruction after INSB"
        movzx   eax, byte [bytes_in]
        CHECK   eax, 0xFF, "INSB stored the mask"

; ---- no trap: the breakpoint disabled (L0 = G0 = 0), then CR4.DE clear
        DB_RESET
        mov     eax, PIC2_IMR
        mov     dr0, eax
        mov     eax, 0x00020000         ; I/O, 1 byte, not enabled
        mov     dr7, eax
        in      al, PIC2_IMR
        out     PIC2_IMR, al
        CHECK   [steps], 0, "a disabled I/O breakpoint: no #DB"
        mov     eax, cr4
        and     eax, ~CR4_DE
        mov     cr4, eax
        mov     eax, 0x00020002         ; G0, R/W 10b: undefined without DE
        mov     dr7, eax
        in      al, PIC2_IMR
        out     PIC2_IMR, al
        mov     eax, cr4
        or      eax, CR4_DE             ; DE again: the breakpoint is armed
        mov     cr4, eax
        mov     eax, 0x00020002
        mov     dr7, eax
.d1:    in      al, PIC2_IMR
.d2:    xor     eax, eax
        mov     dr7, eax
        CHECK   [steps], 1, "R/W 10b without CR4.DE: no #DB; with it one"
        CHECK_DB 1, .d2, 0, 0x0001, "the IN once CR4.DE is set"

; ---- CR4: reserved bits are #GP(0), the 686's own read back
        mov     dword [exc_hook], 0
%macro CR4_GP 2
        mov     eax, %1
        EXPECT  %%gp
%%mov:  mov     cr4, eax
%%gp:   CHECK_EXC 13, 0, %%mov, 0, %2
        xor     eax, eax                ; (in case it was taken)
        mov     cr4, eax
%endmacro
        CR4_GP  0x020, "MOV CR4 with PAE"
        CR4_GP  0x400, "MOV CR4 with OSXMMEXCPT"
        mov     eax, 0x3DF              ; VME PVI TSD DE PSE MCE PGE PCE OSFXSR
        mov     cr4, eax
        mov     eax, cr4
        CHECK   eax, 0x3DF, "CR4 with every bit the 686 has"
        xor     eax, eax
        mov     cr4, eax

; ---- CPUID and the machine-check MSRs
        mov     eax, 1
        cpuid
        and     edx, (1 << 2) | (1 << 7) | (1 << 14)
        CHECK   edx, 0x4084, "cpuid 1: DE, MCE, MCA"
        mov     ecx, MSR_MCG_CAP
        rdmsr
        CHECK   eax, 0x105, "MCG_CAP: 5 banks, MCG_CTL_P"
        CHECK   edx, 0, "MCG_CAP: high half"
        MSR_GP  wrmsr, MSR_MCG_CAP, "WRMSR MCG_CAP (read-only)"
        WRMSR   MSR_MCG_CTL, -1, -1
        mov     ecx, MSR_MCG_CTL
        rdmsr
        and     eax, edx
        CHECK   eax, -1, "MCG_CTL reads back all 1s"
        WRMSR   MSR_MCG_STATUS, 0, 0
        mov     ecx, MSR_MCG_STATUS
        rdmsr
        or      eax, edx
        CHECK   eax, 0, "MCG_STATUS: 0"
        WRMSR   MSR_MC1_CTL, -1, -1
        mov     ecx, MSR_MC1_CTL
        rdmsr
        and     eax, edx
        CHECK   eax, -1, "MC1_CTL reads back all 1s"
        WRMSR   MSR_MC1_STATUS, 0, 0
        mov     ecx, MSR_MC1_STATUS
        rdmsr
        or      eax, edx
        CHECK   eax, 0, "MC1_STATUS: 0"
        mov     ecx, MSR_MC1_CTL
        mov     eax, 0x1234
        xor     edx, edx
        EXPECT  .gp1
.w1:    wrmsr
.gp1:   CHECK_EXC 13, 0, .w1, 0, "WRMSR MC1_CTL not all 0s or 1s"
        MSR_GP  wrmsr, MSR_MC1_STATUS, "WRMSR MC1_STATUS non-zero"
        MSR_GP  rdmsr, MSR_MC1_MISC, "RDMSR MC1_MISC (not on the P6)"
        MSR_GP  rdmsr, MSR_MC5_CTL, "RDMSR MC5_CTL (5 banks)"
        jmp     finish

; The #DB hook: log EIP, ECX, DR6 and the PIC's mask register (read with
; DR7 off), clear DR6.
db_hook:
        xor     eax, eax
        cmp     dword [ebp + F_VEC], 1
        jne     .done
        mov     ecx, [steps]
        cmp     ecx, MAX_LOG
        jae     .runaway
        mov     eax, [ebp + F_EIP]
        mov     [eip_log + ecx * 4], eax
        mov     eax, [ebp + F_ECX]
        mov     [ecx_log + ecx * 4], eax
        mov     eax, dr6
        mov     [dr6_log + ecx * 4], eax
        mov     ebx, dr7
        xor     eax, eax
        mov     dr7, eax
        in      al, PIC2_IMR
        mov     [port_log + ecx * 4], eax
        mov     dr7, ebx
        inc     dword [steps]
        xor     eax, eax
        mov     dr6, eax
        inc     eax
.done:
        ret
.runaway:                               ; stop breaking
        inc     dword [steps]
        xor     eax, eax
        mov     dr7, eax
        inc     eax
        ret

        align   4
steps:          dd      0
watched:        dd      0
bytes_out:      db      1, 2, 3, 4
bytes_in:       dd      0
eip_log:        times MAX_LOG dd 0
ecx_log:        times MAX_LOG dd 0
dr6_log:        times MAX_LOG dd 0
port_log:       times MAX_LOG dd 0

%include "pm_end.inc"
