; pm_paging.asm - two-level paging: translation, accessed and dirty bits
; set by the walk, #PF error codes and CR2 (not present, write to read-only,
; user access to a supervisor page through the PTE and through the PDE, an
; operand crossing into a not-present page, a fetch from one), CR0.WP on
; and off, a #PF restarted after the handler maps the page, INVLPG and CR3
; reloads after changing a PTE, a 4 MiB page with CR4.PSE, global pages
; with CR4.PGE (that a global entry survives a CR3 reload is not checked:
; QEMU's TCG flushes it anyway, so it cannot be shown there).
;
; Linear memory: 0-4 MiB identity-mapped by 4 KiB user pages; 4 MiB up:
PAGE_S          equ     0x400000        ; supervisor, RW -> 0x20000
PAGE_NP         equ     0x401000        ; not present (the restart maps it -> 0x24000)
PAGE_RO         equ     0x402000        ; supervisor, read-only -> 0x21000
PAGE_U          equ     0x403000        ; user, RW -> 0x22000
PAGE_U_RO       equ     0x404000        ; user, read-only -> 0x23000
PAGE_NP2        equ     0x405000        ; not present
PAGE_BIG        equ     0x800000        ; 4 MiB page -> 0
PAGE_PDE_S      equ     0xC00000        ; PDE supervisor, PTE user -> 0x26000
;
; Page directory 0x10000, page tables 0x11000 (0-4 MiB), 0x12000 (4 MiB),
; 0x13000 (12 MiB).

%define GUEST_NAME "pm_paging"

PD              equ     0x10000
PT0             equ     0x11000
PT1             equ     0x12000
PT3             equ     0x13000
P               equ     1
RW              equ     2
US              equ     4
ACCESSED        equ     0x20
DIRTY           equ     0x40
PS              equ     0x80
PTE_G           equ     0x100
SEL_GATE_BACK   equ     SEL_GUEST | 3   ; call gate, DPL 3, back to ring 0

%define PTE(linear) (PT1 + (((linear) >> 12) & 0x3FF) * 4)

%macro GUEST_GDT 0
        GATE    ring0_again, SEL_CODE32, 0xEC, 0
%endmacro

%include "pm.inc"

main32:
        call    init_tss
        mov     eax, DEBUGCON
        call    io_allow
        mov     edi, 0x20000            ; frames 0x20000-0x26FFF: a tag each
        mov     eax, 0xA0A0A0A0
.tag:   mov     ecx, 1024
        rep stosd
        add     eax, 0x01010101
        cmp     edi, 0x27000
        jb      .tag
        mov     edi, PD                 ; PD, PT0, PT1, PT3 zeroed
        mov     ecx, 4 * 1024
        xor     eax, eax
        rep stosd
        mov     dword [PD + 0 * 4], PT0 | US | RW | P
        mov     dword [PD + 1 * 4], PT1 | US | RW | P
        mov     dword [PD + 3 * 4], PT3 | RW | P
        mov     edi, PT0
        mov     eax, US | RW | P
.pte:   stosd
        add     eax, 0x1000
        cmp     edi, PT0 + 4096
        jb      .pte
        mov     dword [PTE(PAGE_S)], 0x20000 | RW | P
        mov     dword [PTE(PAGE_RO)], 0x21000 | P
        mov     dword [PTE(PAGE_U)], 0x22000 | US | RW | P
        mov     dword [PTE(PAGE_U_RO)], 0x23000 | US | P
        mov     dword [PT3], 0x26000 | US | RW | P
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80010000         ; PG, WP
        mov     cr0, eax
        jmp     .paged                  ; identity-mapped: carries on
.paged:
        mov     eax, cr0
        and     eax, 0x80010001
        CHECK   eax, 0x80010001, "CR0 & (PG|WP|PE) with paging on"

; ---- translation, accessed and dirty bits
        CHECK   [PTE(PAGE_S)], 0x20000 | RW | P, "PTE before any access"
        CHECK   [PAGE_S], 0xA0A0A0A0, "read at 4 MiB sees frame 0x20000"
        mov     eax, [PTE(PAGE_S)]
        CHECK   eax, 0x20000 | ACCESSED | RW | P, "PTE after a read: A set, D clear"
        mov     eax, [PD + 4]
        and     eax, ACCESSED
        CHECK   eax, ACCESSED, "PDE after the read: A"
        mov     dword [PAGE_S + 4], 0x12345678
        mov     eax, [PTE(PAGE_S)]
        CHECK   eax, 0x20000 | DIRTY | ACCESSED | RW | P, "PTE after a write: A and D set"
        CHECK   [0x20004], 0x12345678, "the write reached frame 0x20000"

; ---- #PF at CPL 0
        EXPECT  .f1_r
.f1:    mov     eax, [PAGE_NP + 0x234]
.f1_r:  CHECK_EXC 14, 0, .f1, 0, "read from a not-present page"
        CHECK   [exc_cr2], PAGE_NP + 0x234, "CR2"
        EXPECT  .f2_r
.f2:    mov     byte [PAGE_NP + 0x567], 1
.f2_r:  CHECK_EXC 14, 2, .f2, 0, "write to a not-present page"
        CHECK   [exc_cr2], PAGE_NP + 0x567, "CR2"
        mov     eax, [PAGE_RO]          ; reading is allowed
        EXPECT  .f3_r
.f3:    mov     [PAGE_RO + 8], eax
.f3_r:  CHECK_EXC 14, 3, .f3, 0, "supervisor write to a read-only page, CR0.WP=1"
        CHECK   [exc_cr2], PAGE_RO + 8, "CR2"
        EXPECT  .f4_r
.f4:    mov     eax, [PAGE_NP2 - 2]
.f4_r:  CHECK_EXC 14, 0, .f4, 0, "dword read crossing into a not-present page"
        CHECK   [exc_cr2], PAGE_NP2, "CR2 is the first byte in the missing page"
        EXPECT  .f5_r
        jmp     PAGE_NP2 + 0x10
.f5_r:  CHECK_EXC 14, 0, PAGE_NP2 + 0x10, 0, "jmp to a not-present page"
        CHECK   [exc_cr2], PAGE_NP2 + 0x10, "CR2"
        mov     eax, cr0
        and     eax, ~0x00010000        ; WP off: supervisor writes ignore R/W
        mov     cr0, eax
        mov     dword [PAGE_RO + 8], 0x0BADF00D
        CHECK   [0x21008], 0x0BADF00D, "supervisor write to a read-only page, CR0.WP=0"
        mov     eax, [PTE(PAGE_RO)]
        CHECK   eax, 0x21000 | DIRTY | ACCESSED | P, "its PTE: A and D set"
        mov     eax, cr0
        or      eax, 0x00010000
        mov     cr0, eax

; ---- a #PF handler that maps the page; the read restarts and completes
        mov     dword [exc_hook], map_page
        mov     ebx, [exc_count]
        mov     eax, [PAGE_NP + 0x10]
        mov     dword [exc_hook], 0
        CHECK   eax, 0xA4A4A4A4, "read restarted after #PF mapped frame 0x24000"
        inc     ebx
        CHECK   [exc_count], ebx, "exceptions after the restart"

; ---- INVLPG and CR3 reload after changing a PTE
        mov     eax, [PAGE_S]           ; in the TLB now
        mov     dword [PTE(PAGE_S)], 0x25000 | RW | P
        invlpg  [PAGE_S]
        CHECK   [PAGE_S], 0xA5A5A5A5, "after the PTE moved to 0x25000 and invlpg"
        mov     dword [PTE(PAGE_S)], 0x20000 | RW | P
        mov     eax, cr3
        mov     cr3, eax
        CHECK   [PAGE_S], 0xA0A0A0A0, "after the PTE moved back and a CR3 reload"

; ---- ring 3: user and supervisor pages
        push    dword SEL_DATA32_R3
        push    dword RING3_STACK
        push    dword 0x00000002
        push    dword SEL_CODE32_R3
        push    dword ring3
        iretd
ring3:
        mov     ax, SEL_DATA32_R3
        mov     ds, ax
        mov     es, ax
        CHECK   [PAGE_U], 0xA2A2A2A2, "ring 3 reads a user page"
        mov     dword [PAGE_U], 0x33333333
        CHECK   [0x22000], 0x33333333, "ring 3 writes a user page"
        mov     eax, [PAGE_U_RO]
        CHECK   eax, 0xA3A3A3A3, "ring 3 reads a user read-only page"
        EXPECT  .u1_r
.u1:    mov     eax, [PAGE_S]
.u1_r:  CHECK_EXC 14, 5, .u1, 0, "ring 3 reads a supervisor page"
        CHECK   [exc_cr2], PAGE_S, "CR2"
        EXPECT  .u2_r
.u2:    mov     [PAGE_S], eax
.u2_r:  CHECK_EXC 14, 7, .u2, 0, "ring 3 writes a supervisor page"
        EXPECT  .u3_r
.u3:    mov     [PAGE_U_RO + 12], eax
.u3_r:  CHECK_EXC 14, 7, .u3, 0, "ring 3 writes a user read-only page"
        CHECK   [exc_cr2], PAGE_U_RO + 12, "CR2"
        EXPECT  .u4_r
.u4:    mov     eax, [PAGE_NP2]
.u4_r:  CHECK_EXC 14, 4, .u4, 0, "ring 3 reads a not-present page"
        EXPECT  .u5_r
.u5:    mov     eax, [PAGE_PDE_S]
.u5_r:  CHECK_EXC 14, 5, .u5, 0, "ring 3 reads a user PTE under a supervisor PDE"
        call    SEL_GATE_BACK:0

; ---- 4 MiB pages (CR4.PSE) and global pages (CR4.PGE)
ring0_again:
        mov     ax, SEL_DATA32
        mov     ds, ax
        mov     es, ax
        mov     eax, cr4
        or      eax, 0x10               ; PSE
        mov     cr4, eax
        mov     dword [PD + 2 * 4], 0 | PS | RW | P
        mov     eax, cr3
        mov     cr3, eax
        mov     eax, [PAGE_BIG + sector2]
        CHECK   eax, SIG, "4 MiB page at 8 MiB -> 0: the image's signature"
        mov     dword [PAGE_BIG + 0x3FF000], 0x4D4D4D4D
        CHECK   [0x3FF000], 0x4D4D4D4D, "write through the 4 MiB page at its last 4 KiB"
        mov     eax, [PD + 2 * 4]
        CHECK   eax, 0 | PS | DIRTY | ACCESSED | RW | P, "its PDE: A and D set"
        mov     eax, cr4
        or      eax, 0x80               ; PGE
        mov     cr4, eax
        mov     eax, cr4
        and     eax, 0x90
        CHECK   eax, 0x90, "CR4 & (PGE|PSE)"
        mov     dword [PTE(PAGE_S)], 0x20000 | PTE_G | RW | P
        invlpg  [PAGE_S]
        CHECK   [PAGE_S], 0xA0A0A0A0, "global page read"
        mov     dword [PTE(PAGE_S)], 0x25000 | PTE_G | RW | P
        mov     eax, cr4                ; clearing PGE flushes global entries
        and     eax, ~0x80
        mov     cr4, eax
        or      eax, 0x80
        mov     cr4, eax
        CHECK   [PAGE_S], 0xA5A5A5A5, "global PTE changed, CR4.PGE toggled"
        jmp     finish

; #PF hook: map the faulting page of PAGE_NP to frame 0x24000 and restart.
map_page:
        xor     eax, eax
        cmp     dword [ebp + F_VEC], 14
        jne     .done
        mov     dword [PTE(PAGE_NP)], 0x24000 | RW | P
        inc     eax
.done:
        ret

%include "pm_end.inc"
