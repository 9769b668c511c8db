; bench32.asm - the CPU-bound bench loop in flat 32-bit protected mode with
; paging on (hvmm/guests/bench32.bin; guests/bench.asm is the real-mode one).
;
; One boot sector (loaded at 0000:7C00 by `hvmm exec` or by a BIOS, no
; INT 13h needed). It enters protected mode itself: flat 4 GiB code and
; data segments (32-bit), a page directory at 20000h whose first table maps
; the first 4 MiB 1:1 and whose second maps the 64 data pages at linear
; 400000h to the physical pages 30000h-6FFFFh in a scattered order (page i
; -> page (i * 37) mod 64), so data accesses go through 64 TLB entries.
;
; What it does
;   1. fills the 256 KiB of data (65536 dwords) with a pattern;
;   2. runs OUTER x INNER iterations of an 11-instruction loop of the same
;      kind as bench.asm's: a load striding across the pages (4 KiB + 4
;      per iteration), ALU ops (add/adc/rol/and), a read-modify-write store
;      (xor [mem], reg) at an address taken from the running sum, and a
;      conditional branch;
;   3. prints "hvmm bench32: checksum EEEEEEEE BBBBBBBB" + CR LF (EDX, EBX)
;      to port 0xE9 and writes 0 to port 0xF4 (the run's end under hvmm;
;      QEMU's isa-debug-exit exits with status 1), then `cli; hlt`.
; tests/test_bench32_guest.py recomputes the checksum and the count.

        cpu     386
        bits    16
        org     0x7C00

PD              equ     0x20000
PT0             equ     0x21000         ; identity map of the first 4 MiB
PT1             equ     0x22000         ; the data pages
DATA            equ     0x400000        ; linear address of the data
DPHYS           equ     0x30000         ; their physical pages
NPAGES          equ     64
INNER           equ     100000
OUTER           equ     9
PAGE_RW_P       equ     3

start:
        cli
        jmp     0x0000:.cs_zero         ; a BIOS may enter at 07C0:0000
.cs_zero:
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7C00
        lgdt    [gdtr]
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     dword 0x08:pm32

        bits    32
pm32:
        mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     fs, ax
        mov     gs, ax
        mov     esp, 0x7C00
        cld
        mov     edi, PD                 ; page directory: two tables
        xor     eax, eax
        mov     ecx, 1024
        rep     stosd
        mov     dword [PD], PT0 | PAGE_RW_P
        mov     dword [PD + 4], PT1 | PAGE_RW_P
        mov     edi, PT0                ; 1:1
        mov     eax, PAGE_RW_P
        mov     ecx, 1024
.ident: stosd
        add     eax, 0x1000
        loop    .ident
        mov     edi, PT1                ; page i -> DPHYS + ((i * 37) & 63) pages
        xor     ecx, ecx
.data:  imul    eax, ecx, 37
        and     eax, NPAGES - 1
        shl     eax, 12
        add     eax, DPHYS | PAGE_RW_P
        stosd
        inc     ecx
        cmp     ecx, NPAGES
        jb      .data
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax
        jmp     .paged
.paged:
        mov     edi, DATA               ; fill: 65536 dwords
        mov     ecx, NPAGES * 1024
        mov     eax, 0x12345678
.fill:  stosd
        add     eax, 0x9E3779B9
        rol     eax, 1
        loop    .fill

        xor     edx, edx
        xor     ebx, ebx
        mov     ebp, OUTER
.outer: xor     esi, esi
        mov     ecx, INNER
.inner:                                 ; [11] per iteration
        mov     eax, [esi + DATA]
        add     edx, eax
        adc     ebx, edx
        rol     edx, 1
        mov     edi, ebx
        and     edi, NPAGES * 4096 - 4
        xor     [edi + DATA], edx
        add     esi, 0x1004
        and     esi, NPAGES * 4096 - 4
        dec     ecx
        jnz     .inner
        dec     ebp
        jnz     .outer

        mov     esi, msg
        call    puts
        mov     eax, edx
        call    hex8
        mov     al, ' '
        out     0xE9, al
        mov     eax, ebx
        call    hex8
        mov     esi, crlf
        call    puts
        xor     al, al
        out     0xF4, al                ; the run ends here
        cli
        hlt
        jmp     short $-2

puts:                                   ; the NUL-terminated string at ESI
        lodsb
        test    al, al
        jz      .done
        out     0xE9, al
        jmp     short puts
.done:  ret

hex8:                                   ; EAX as 8 hex digits; clobbers EAX, ECX
        mov     ecx, 8
.digit: rol     eax, 4
        push    eax
        and     eax, 15
        mov     al, [eax + hexdigits]
        out     0xE9, al
        pop     eax
        loop    .digit
        ret

        align   8
gdt:    dq      0
        dw      0xFFFF, 0               ; 08: code, flat, 32-bit
        db      0, 0x9A, 0xCF, 0
        dw      0xFFFF, 0               ; 10: data, flat, big
        db      0, 0x92, 0xCF, 0
gdtr:   dw      gdtr - gdt - 1
        dd      gdt

hexdigits:      db      "0123456789ABCDEF"
msg:            db      "hvmm bench32: checksum ", 0
crlf:           db      13, 10, 0

        times   510 - ($ - $$) db 0
        dw      0xAA55
