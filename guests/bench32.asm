; bench32.asm - the loop of bench.asm (ALU, load, store, branch, REP MOVS)
; as unprefixed 32-bit code, for the speed of 32-bit default-size code
; (bench/callgrind_bench.sh . 386 pm32). No BIOS, no mode switch: the
; script starts it in flat 32-bit protected mode (CS.D = 1, base 0) at
; 0000:7C00, as `hvmm exec --protected` does at its own address.
        cpu     386
        bits    32
        org     0x7C00

BUF             equ     0x1000          ; 256-byte work buffer
BUF_MASK        equ     0x10FC          ; keeps ESI a multiple of 4 inside BUF
RESULT          equ     0x0500
FILL_DWORDS     equ     64
INNER           equ     50000
OUTER           equ     20

start:
        cld
        mov     edi, BUF
        mov     ecx, FILL_DWORDS
        mov     eax, 0x12345678
fill:
        stosd
        add     eax, 0x9E3779B9
        rol     eax, 1
        loop    fill

        xor     edx, edx
        xor     ebx, ebx
        mov     ebp, OUTER
outer:
        mov     esi, BUF
        mov     ecx, INNER
inner:                                  ; [10] per inner iteration, as bench.asm
        lodsd
        add     edx, eax
        adc     ebx, edx
        rol     edx, 1
        mov     edi, ebx
        and     edi, 0x000000FC
        xor     [edi+BUF], edx
        and     esi, BUF_MASK
        dec     ecx
        jnz     inner

        mov     esi, BUF+4
        mov     edi, BUF
        mov     ecx, 63
        rep     movsd
        dec     ebp
        jnz     outer

        mov     [RESULT], edx
        mov     [RESULT+4], ebx
        xor     al, al
        out     0xF4, al
        cli
        hlt
