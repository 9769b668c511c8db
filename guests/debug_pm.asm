; debug_pm.asm: the debugging tools' guest in 32-bit protected mode with
; paging (tests/test_gdbstub.py, test_trace.py, test_snapshot.py). Run as
; `hvmm exec --protected hvmm/guests/debug_pm.bin` (flat 32-bit protected
; mode at 0x100000, docs/protected-mode.md). It turns paging on with the
; first 4 MiB identity-mapped and a "higher half" at C0000000 whose pages
; lie elsewhere, so linear and physical addresses differ:
;   C0001000 -> 101000  the code below (this image's second page)
;   C0002000 -> 150000  the counter (dword)
;   C0003000 -> 151000  "HVMM", never touched once paging is on (its PTE's
;                       accessed bit stays clear unless something walks it)
;   C0004000            not present: the first store there is a #PF
;                       (error code 2, CR2 = C0004000); the handler maps it
;                       to 152000 and the store is restarted
;   80000000            no page table at all
; Then it loads pi on the x87; counts: C0001010 inc dword [C0002000],
; C0001016 loop, five times; stores to C0004000 (C0001018) and 5 pi
; rounded (16) to C0004004; writes "pm: N" to port 0xE9 and N's low byte
; to port 0xF4 (status (5 << 1) | 1 = 11 under `hvmm exec`).
; Page directory 120000, page tables 121000 (0-4 MiB), 122000 (C0000000),
; IDT 123000 (vector 14 only).

        cpu     386
        bits    32

PD              equ     0x120000
PT0             equ     0x121000
PTHI            equ     0x122000
IDT             equ     0x123000
HIGH            equ     0xC0000000
CODE            equ     0xC0001000
COUNTER         equ     0xC0002000
SPARE           equ     0xC0003000
LAZY            equ     0xC0004000
P_RW            equ     3
%define PTE(linear) (PTHI + (((linear) - HIGH) >> 12) * 4)

        section low start=0 vstart=0x100000
start:
        mov     dword [0x150000], 0             ; the frames behind the high pages
        mov     dword [0x151000], 'HVMM'
        mov     edi, PD                         ; PD, PT0, PTHI, IDT zeroed
        mov     ecx, 4 * 1024
        xor     eax, eax
        rep stosd
        mov     dword [PD], PT0 | P_RW
        mov     dword [PD + (HIGH >> 22) * 4], PTHI | P_RW
        mov     edi, PT0
        mov     eax, P_RW
.identity:
        stosd
        add     eax, 0x1000
        cmp     edi, PT0 + 4096
        jb      .identity
        mov     dword [PTE(CODE)], 0x101000 | P_RW
        mov     dword [PTE(COUNTER)], 0x150000 | P_RW
        mov     dword [PTE(SPARE)], 0x151000 | P_RW
        mov     eax, page_fault                 ; IDT[14]: interrupt gate, CS 08
        mov     [IDT + 14 * 8], ax
        mov     word [IDT + 14 * 8 + 2], 0x08
        mov     word [IDT + 14 * 8 + 4], 0x8E00
        shr     eax, 16
        mov     [IDT + 14 * 8 + 6], ax
        lidt    [idt_ptr]
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000                 ; PG
        mov     cr0, eax
        jmp     .paged                          ; identity-mapped: carries on
.paged: mov     eax, the_code
        jmp     eax

; #PF: map the lazy page and restart the store (any other fault: stop).
page_fault:
        push    eax
        mov     eax, cr2
        cmp     eax, LAZY
        jne     .other
        mov     dword [PTE(LAZY)], 0x152000 | P_RW
        pop     eax
        add     esp, 4                          ; the error code
        iretd
.other: mov     al, 0xEE
        out     0xF4, al
        cli
        hlt

idt_ptr:
        dw      256 * 8 - 1
        dd      IDT

        section high start=0x1000 vstart=CODE
the_code:
        mov     ecx, 5
        fninit                                  ; x87 state for the snapshot tests
        fldpi
        jmp     the_loop
        times   0x10 - ($ - $$) nop
the_loop:                                       ; C0001010
        inc     dword [COUNTER]
        loop    the_loop                        ; C0001016
        mov     dword [LAZY], 0x600DF00D        ; #PF, then restarted
        fimul   dword [COUNTER]                 ; 5 pi
        fistp   dword [LAZY + 4]                ; 16
        mov     esi, msg
.print: lodsb
        test    al, al
        jz      .digit
        out     0xE9, al
        jmp     .print
.digit: mov     eax, [COUNTER]
        add     al, '0'
        out     0xE9, al
        mov     al, 10
        out     0xE9, al
        mov     eax, [COUNTER]
        out     0xF4, al
        cli
        hlt

msg:    db      "pm: ", 0
